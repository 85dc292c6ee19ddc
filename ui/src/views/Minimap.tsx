// The minimap of a deep flame graph: the whole graph in a strip a pixel or two per row, with the zoomed frame's
// extent and the rows currently on screen outlined. Clicking a row scrolls the full graph to it, so a graph taller
// than the window stays navigable without losing the overview.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { FlameGraph } from '../arrow/flamegraph';
import type { Coloring } from '../flamegraph/colors';
import { draw } from '../flamegraph/render';

export interface MinimapProps {
  graph: FlameGraph;
  coloring: Coloring;
  dark: boolean;
  width: number;
  focus: number;
  flipped: boolean;
  /** The full graph's canvas and its row height, to show and move its visible part. */
  main: HTMLCanvasElement | null;
  mainRowHeight: number;
}

/** Graphs deeper than this many rows get a minimap (taller than most windows at 18 px a row). */
export const minimapMinDepth = 40;
const maxHeight = 90;

export function Minimap({ graph: fg, coloring, dark, width, focus, flipped, main, mainRowHeight }: MinimapProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const rowHeight = Math.min(3, maxHeight / Math.max(1, fg.height));
  const height = Math.ceil(rowHeight * fg.height);
  const [visible, setVisible] = useState<[number, number]>([0, fg.height]);

  useEffect(() => {
    const c = canvas.current!;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
    c.style.width = `${width}px`;
    c.style.height = `${height}px`;
    const ctx = c.getContext('2d', { alpha: false })!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    draw(ctx, fg, { focus: 0, width, rowHeight, flipped }, { dark, coloring, matches: null, selectedName: -1, font: '1px sans-serif', overview: true });
    c.dataset.drawn = '1';
  }, [fg, width, height, coloring, dark, flipped]);

  // Which rows of the full graph are inside the window, refreshed as the page scrolls or resizes.
  useEffect(() => {
    if (!main) return;
    const update = () => {
      const r = main.getBoundingClientRect();
      const top = Math.max(0, -r.top) / mainRowHeight;
      const bottom = Math.min(r.height, window.innerHeight - r.top) / mainRowHeight;
      setVisible([Math.max(0, Math.floor(top)), Math.max(0, Math.ceil(bottom))]);
    };
    update();
    window.addEventListener('scroll', update, { passive: true });
    window.addEventListener('resize', update);
    return () => { window.removeEventListener('scroll', update); window.removeEventListener('resize', update); };
  }, [main, mainRowHeight, fg]);

  const total = fg.width[0] || 1;
  const fx = ((fg.x[focus] - fg.x[0]) / total) * width;
  const fw = Math.max(2, (fg.width[focus] / total) * width);
  const [from, to] = visible;
  const onClick = (e: MouseEvent) => {
    if (!main) return;
    const y = e.clientY - canvas.current!.getBoundingClientRect().top;
    const row = Math.floor(y / rowHeight); // canvas rows: flipped graphs have the root at the bottom either way
    const r = main.getBoundingClientRect();
    window.scrollBy({ top: r.top + (row * mainRowHeight) - (window.innerHeight / 3) });
  };
  return (
    <div class="minimap" data-testid="minimap" style={{ width: `${width}px`, height: `${height}px` }} onClick={onClick}
      title="Overview of the whole graph: click a row to scroll to it">
      <canvas ref={canvas} data-testid="minimap-canvas" />
      <div class="minimap-focus" data-testid="minimap-focus" style={{ left: `${fx}px`, width: `${fw}px`, height: `${height}px` }} />
      {to > from && <div class="minimap-window" data-testid="minimap-window" data-rows={`${from}-${to}`}
        style={{ top: `${from * rowHeight}px`, height: `${Math.max(2, (to - from) * rowHeight)}px`, width: `${width}px` }} />}
    </div>
  );
}
