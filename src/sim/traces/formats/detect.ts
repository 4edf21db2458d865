import { isAzureHeader } from './azure.js';
import { isBurstGptHeader } from './burstgpt.js';
import { headerColumns } from './csv.js';
import { looksLikeMooncake } from './mooncake.js';
import type { TraceFileFormat } from './row.js';

/**
 * The format of a trace file from its first non-blank line (content, never the file name):
 * - a JSON object with timestamp, input_length, output_length → mooncake
 * - a CSV header with TIMESTAMP, ContextTokens, GeneratedTokens → azure
 * - a CSV header with Timestamp, Request tokens, Response tokens → burstgpt
 * Returns undefined when none fits.
 */
export function detectFormat(firstLine: string): TraceFileFormat | undefined {
  const line = firstLine.trim();
  if (line.startsWith('{')) {
    try {
      return looksLikeMooncake(JSON.parse(line)) ? 'mooncake' : undefined;
    } catch {
      return undefined;
    }
  }
  const columns = headerColumns(line);
  if (isAzureHeader(columns)) return 'azure';
  if (isBurstGptHeader(columns)) return 'burstgpt';
  return undefined;
}

export const FORMAT_HINT =
  'expected an Azure LLM trace CSV (header TIMESTAMP,ContextTokens,GeneratedTokens), a BurstGPT CSV ' +
  '(header Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type) or Mooncake JSONL ' +
  '({"timestamp": ms, "input_length": n, "output_length": n} per line)';
