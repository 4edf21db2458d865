// Worker threads do not inherit the tsx loader: register it, then load the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
