/** The decide worker thread: planner/decide's decide(), the very function the simulator calls inline. */
import { decide } from '../../planner/decide.js';
import { serveDecide } from './serve.js';

serveDecide(decide);
