import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { createApi } from './api/client';
import { decodeState, encodeState, isNavigation, type ViewState } from './state/url';
import { Explorer } from './views/Explorer';
import { TargetsPage } from './views/TargetsPage';

const prefix = () => window.PATH_PREFIX ?? '';

function pageFromPath(): ViewState['page'] {
  const path = location.pathname.slice(prefix().length);
  return path.startsWith('/targets') ? 'targets' : 'explorer';
}

/**
 * View state from the URL; every change is written back: navigations (see isNavigation) push a history entry so
 * Back/Forward restore them, small tweaks replace it. `push` forces either way (false: e.g. the default type a
 * first visit gets, which must not become a page that Back returns to).
 */
function useUrlState(): [ViewState, (next: ViewState, push?: boolean) => void] {
  const [state, setState] = useState(() => decodeState(location.search, pageFromPath()));
  const current = useRef(state);
  useEffect(() => {
    const onPop = () => { current.current = decodeState(location.search, pageFromPath()); setState(current.current); };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const update = useCallback((next: ViewState, push?: boolean) => {
    const nav = push ?? isNavigation(current.current, next);
    current.current = next;
    const path = `${prefix()}/${next.page === 'targets' ? 'targets' : ''}`;
    const qs = encodeState(next);
    const url = `${path}${qs ? `?${qs}` : ''}`;
    if (url !== location.pathname + location.search) {
      if (nav) history.pushState(null, '', url); else history.replaceState(null, '', url);
    }
    setState(next);
  }, []);
  return [state, update];
}

export function App() {
  const api = useMemo(() => createApi(), []);
  const [state, setState] = useUrlState();
  const [dark, setDark] = useState(() => document.documentElement.classList.contains('dark'));
  const [help, setHelp] = useState(false);
  const toggleDark = useCallback(() => {
    setDark((d) => {
      document.documentElement.classList.toggle('dark', !d);
      localStorage.setItem('parca-theme', !d ? 'dark' : 'light');
      return !d;
    });
  }, []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '?') { setHelp((h) => !h); e.preventDefault(); }
      else if (e.key === 'D') { toggleDark(); e.preventDefault(); }
      else if (e.key === 'Escape') setHelp(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [toggleDark]);
  const nav = (page: ViewState['page']) => (e: Event) => { e.preventDefault(); setState({ ...state, page }, true); };
  return (
    <>
      <header class="top">
        <span class="brand">Parca</span>
        <nav>
          <a href={`${prefix()}/`} class={state.page === 'explorer' ? 'current' : ''} onClick={nav('explorer')}>Profiles</a>
          <a href={`${prefix()}/targets`} class={state.page === 'targets' ? 'current' : ''} onClick={nav('targets')}>Targets</a>
        </nav>
        <span class="spacer" />
        <span class="status">{window.APP_VERSION && window.APP_VERSION !== 'APP_VERSION_VAR' ? `v${window.APP_VERSION}` : ''}</span>
        <button title="Keyboard shortcuts (?)" onClick={() => setHelp(true)}>?</button>
        <button title="Dark mode (Shift+D)" data-testid="theme" onClick={toggleDark}>{dark ? '☀ Light' : '☾ Dark'}</button>
      </header>
      <main>
        {state.page === 'targets' ? <TargetsPage api={api} /> : <Explorer api={api} state={state} setState={setState} dark={dark} />}
      </main>
      {help && <Help onClose={() => setHelp(false)} />}
    </>
  );
}

const shortcuts: [string, string][] = [
  ['/', 'search frames'], ['Esc', 'zoom out one level / close'], ['0', 'reset zoom'], ['r', 'refresh'],
  ['c', 'toggle compare mode'], ['i', 'invert call stacks'], ['t', 'toggle table'], ['s', 'toggle sandwich'],
  ['l', 'copy shareable link'], ['f', 'add a filter'], ['Shift+D', 'dark mode'], ['?', 'this help'],
];

function Help({ onClose }: { onClose: () => void }) {
  return (
    <div class="help" onClick={onClose}>
      <div onClick={(e) => e.stopPropagation()}>
        <h3>Keyboard shortcuts</h3>
        <table>{shortcuts.map(([k, d]) => <tr key={k}><td><kbd>{k}</kbd></td><td>{d}</td></tr>)}</table>
        <p><button onClick={onClose}>Close</button></p>
      </div>
    </div>
  );
}
