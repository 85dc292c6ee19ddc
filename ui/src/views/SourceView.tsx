// The source panel: one file of one build with per-line cumulative and flat values and a heat background, opened
// from a flame graph frame ("View source"); scrolls to the frame's line. The text and values come from the server's
// SOURCE report (an uploaded source archive, or a file the server may read), for the same selection and filters.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { errorText, querySource, type Api, type ProfileSelection, type ReportOptions, type SourceResult } from '../api/client';
import { formatValue } from '../format/format';
import { heat, type SourceRef } from '../source/source';

export interface SourceViewProps {
  api: Api;
  a: ProfileSelection;
  b: ProfileSelection | null;
  options: ReportOptions;
  source: SourceRef;
  dark: boolean;
  refreshKey: number;
  onClose: () => void;
}

export function SourceView({ api, a, b, options, source, dark, refreshKey, onClose }: SourceViewProps) {
  const [result, setResult] = useState<SourceResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const body = useRef<HTMLDivElement>(null);
  const key = JSON.stringify([a, b, options.filters, source.buildId, source.filename, refreshKey]);
  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    setResult(null);
    querySource(api, a, b, options, source, ctl.signal)
      .then(setResult)
      .catch((e) => { if (!ctl.signal.aborted) setError(errorText(e)); });
    return () => ctl.abort();
  }, [key]);

  // Bring the frame's line into view once the text is there.
  useLayoutEffect(() => {
    if (!result || source.line <= 0) return;
    body.current?.querySelector(`[data-line="${source.line}"]`)?.scrollIntoView({ block: 'center' });
  }, [result, source.line]);

  const max = result ? result.lines.reduce((m, l) => Math.max(m, l.cumulative), 0) : 0;
  const base = source.filename.slice(source.filename.lastIndexOf('/') + 1);
  return (
    <div class="panel source-view" data-testid="source-view">
      <div class="source-head">
        <h4 title={`${source.filename} (build id ${source.buildId})`}>Source · {base}</h4>
        <span class="hint">{source.filename}</span>
        <button data-testid="source-close" onClick={onClose}>Close</button>
      </div>
      {error && <div class="error" data-testid="source-error">{error}</div>}
      {!result && !error && <div class="status">Loading source…</div>}
      {result && (
        <div class="source-body" ref={body}>
          <table>
            <thead><tr><th>Line</th><th>Cumulative</th><th>Flat</th><th class="code">Code</th></tr></thead>
            <tbody>
              {result.lines.map((l) => (
                <tr key={l.line} data-testid="source-line" data-line={l.line} class={l.line === source.line ? 'current' : ''}
                  style={{ background: heat(l.cumulative, max, dark) }}>
                  <td class="num">{l.line}</td>
                  <td class="num" data-testid="source-cumulative">{l.cumulative > 0 ? formatValue(l.cumulative, result.unit) : ''}</td>
                  <td class="num" data-testid="source-flat">{l.flat > 0 ? formatValue(l.flat, result.unit) : ''}</td>
                  <td class="code"><pre>{l.text}</pre></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
