// The source view's data: which file of which build a flame graph frame points at, the SOURCE report's Arrow
// record (one row per line: cumulative, flat) joined with the file's text, and the heat colour of a line.
import { tableFromIPC } from 'apache-arrow';
import type { FlameGraph } from '../arrow/flamegraph';
import { readNumbers } from '../arrow/columns';

/** Parca's source_reference plus the line to scroll to (URL: source_buildid, source_filename, source_line). */
export interface SourceRef { buildId: string; filename: string; line: number }

export interface SourceLine { line: number; text: string; cumulative: number; flat: number }

/** The source a frame points at, or null when the server could not know it (no build id, file or line). */
export function sourceRefOf(fg: FlameGraph, node: number): SourceRef | null {
  if (node <= 0 || !fg.buildIdId || !fg.buildIds || fg.labelsOnly[node]) return null;
  const b = fg.buildIdId[node];
  const f = fg.fileId[node];
  const buildId = b >= 0 ? fg.buildIds[b] : '';
  const filename = f >= 0 ? fg.files[f] : '';
  if (!buildId || !filename) return null;
  return { buildId, filename, line: Math.max(0, fg.line[node]) };
}

/** Per line values of a SOURCE record (Parca: row i is line i + 1). */
export function decodeSourceRecord(record: Uint8Array): { cumulative: Float64Array; flat: Float64Array } {
  if (record.length === 0) return { cumulative: new Float64Array(0), flat: new Float64Array(0) };
  const table = tableFromIPC(record);
  return { cumulative: readNumbers(table.getChild('cumulative'), table.numRows), flat: readNumbers(table.getChild('flat'), table.numRows) };
}

/** The file's lines with their values; lines the record does not cover count 0. */
export function sourceLines(text: string, cumulative: Float64Array, flat: Float64Array): SourceLine[] {
  const parts = text.split('\n');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((t, i) => ({ line: i + 1, text: t, cumulative: cumulative[i] ?? 0, flat: flat[i] ?? 0 }));
}

/**
 * Background of a line by its share of the hottest line's cumulative value: transparent at 0, then from a faint to
 * a strong orange (the flame graph's "more" colour), on a square-root scale so lukewarm lines stay visible.
 */
export function heat(value: number, max: number, dark: boolean): string {
  if (value <= 0 || max <= 0) return 'transparent';
  const share = Math.min(1, Math.sqrt(value / max));
  const alpha = 0.12 + 0.68 * share;
  return dark ? `rgba(255, 140, 50, ${alpha.toFixed(3)})` : `rgba(240, 110, 20, ${alpha.toFixed(3)})`;
}
