// A compact multi-select: a button that shows what is chosen and opens a list of checkboxes in sections
// (group-by levels and labels, sum-by labels). Closes on a click outside or Escape.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface MultiSelectSection { title?: string; options: { value: string; label: string }[]; empty?: string }

export interface MultiSelectProps {
  label: string;
  sections: MultiSelectSection[];
  selected: string[];
  onChange: (selected: string[]) => void;
  /** Text on the button when nothing is selected. */
  placeholder: string;
  testid: string;
  title?: string;
  /** Called when the menu opens (e.g. to load its options on demand). */
  onOpen?: () => void;
}

export function MultiSelect({ label, sections, selected, onChange, placeholder, testid, title, onOpen }: MultiSelectProps) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => { if (root.current && !root.current.contains(e.target as Node)) setOpen(false); };
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') setOpen(false); };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => { document.removeEventListener('mousedown', onDown); document.removeEventListener('keydown', onKey); };
  }, [open]);
  const names = new Map(sections.flatMap((s) => s.options.map((o) => [o.value, o.label] as const)));
  const summary = selected.length === 0 ? placeholder : selected.map((v) => names.get(v) ?? v).join(', ');
  const toggle = (v: string) => onChange(selected.includes(v) ? selected.filter((x) => x !== v) : [...selected, v]);
  return (
    <span class="multi" ref={root}>
      <span class="hint">{label}</span>
      <button type="button" data-testid={testid} title={title ?? summary} aria-expanded={open} onClick={() => { if (!open) onOpen?.(); setOpen(!open); }}>
        <span class="multi-summary">{summary}</span> ▾
      </button>
      {open && (
        <div class="multi-menu" data-testid={`${testid}-menu`}>
          {sections.map((s, i) => (
            <div key={s.title ?? i}>
              {s.title && <div class="multi-title">{s.title}</div>}
              {s.options.length === 0 && s.empty && <div class="hint multi-empty">{s.empty}</div>}
              {s.options.map((o) => (
                <label key={o.value} class="multi-option">
                  <input type="checkbox" value={o.value} checked={selected.includes(o.value)} onChange={() => toggle(o.value)} /> {o.label}
                </label>
              ))}
            </div>
          ))}
        </div>
      )}
    </span>
  );
}
