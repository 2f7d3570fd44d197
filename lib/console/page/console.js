// The HA console: polls GET status and GET logs (relative to this page, so under httpAdminRoot/ha/)
// and renders them. Every piece of server text goes into the DOM through textContent only.
'use strict';
(function () {
  const STATUS_EVERY_MS = 2000;
  const LOGS_EVERY_MS = 1000;
  const FIRST_PAGE = 200;
  const MAX_LINES = 2000;

  const state = {
    token: sessionStorage.getItem('nrha-token') || '',
    cursor: null,
    older: null,
    // Bumped whenever the filters change, so answers to older requests are ignored.
    generation: 0,
    knownReplicas: new Set(),
  };
  const $ = (id) => document.getElementById(id);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  async function api(path) {
    const headers = state.token ? { Authorization: 'Bearer ' + state.token } : {};
    const res = await fetch(path, { headers, credentials: 'same-origin', cache: 'no-store' });
    if (res.status === 401 || res.status === 403) {
      $('auth').hidden = false;
      throw new Error('not authorized: enter an access token');
    }
    if (!res.ok) {
      let message = 'HTTP ' + res.status;
      try {
        message = (await res.json()).message || message;
      } catch (_) { /* not JSON: keep the status */ }
      throw new Error(message);
    }
    return res.json();
  }

  // The last outcome of each kind of request; the page says "live" only when both succeed.
  const failures = { status: null, logs: null };
  function report(source, error) {
    failures[source] = error || null;
    const shown = failures.status || failures.logs;
    const node = $('connection');
    node.textContent = shown ? shown.message : 'live';
    node.className = shown ? 'error' : 'ok';
  }

  function ago(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return seconds < 90 ? seconds + ' s ago' : Math.round(seconds / 60) + ' min ago';
  }

  function renderStatus(status) {
    $('instance').textContent = status.instance || '(HA off)';
    $('leader').textContent = status.leader || 'none';
    $('revision').textContent = status.revision === null || status.revision === undefined ? '—' : String(status.revision);
    const selected = $('filter-replica').value;
    const rows = status.replicas.map((replica) => {
      const row = el('tr');
      row.dataset.replica = replica.id;
      if (replica.id === selected) row.className = 'selected';
      const seen = el('td', ago(replica.lastSeen));
      seen.title = replica.lastSeen;
      row.append(
        el('td', replica.id, 'id'),
        el('td', replica.ready ? 'ready' : 'not ready', replica.ready ? 'ok' : 'error'),
        el('td', replica.leader ? 'leader' : '', 'leader'),
        el('td', replica.revision === null ? '—' : replica.revision),
        seen,
      );
      row.addEventListener('click', () => selectReplica(replica.id === selected ? '' : replica.id));
      return row;
    });
    $('replicas').tBodies[0].replaceChildren(...rows);
    for (const replica of status.replicas) addReplicaOption(replica.id);
  }

  function addReplicaOption(id) {
    if (state.knownReplicas.has(id)) return;
    state.knownReplicas.add(id);
    const select = $('filter-replica');
    const option = el('option', id);
    option.value = id;
    select.append(option);
  }

  function selectReplica(id) {
    if (id) addReplicaOption(id);
    $('filter-replica').value = id;
    for (const row of $('replicas').tBodies[0].rows) row.className = row.dataset.replica === id ? 'selected' : '';
    reloadLogs();
  }

  function filterParams() {
    const params = new URLSearchParams();
    const replica = $('filter-replica').value;
    const text = $('filter-text').value.trim();
    if (replica) params.set('replica', replica);
    params.set('level', $('filter-level').value);
    if (text) params.set('q', text);
    return params;
  }

  function line(entry) {
    const item = el('li', undefined, 'level-' + entry.level);
    item.dataset.replica = entry.replica;
    item.dataset.seq = entry.seq;
    const time = el('time', new Date(entry.time).toLocaleTimeString(), 'time');
    time.dateTime = new Date(entry.time).toISOString();
    item.append(time, el('span', entry.replica, 'replica'), el('span', entry.level, 'level'));
    if (entry.type) item.append(el('span', entry.type + ':' + (entry.name || entry.id), 'source'));
    item.append(el('span', entry.msg, 'msg'));
    addReplicaOption(entry.replica);
    return item;
  }

  function showSource(page) {
    const text = page.source === 'redis' ? 'all replicas' : 'this replica only (no shared log)';
    $('log-source').textContent = page.warning ? text + ': ' + page.warning : text;
  }

  function append(entries) {
    const list = $('logs');
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.append(...entries.map(line));
    while (list.children.length > MAX_LINES) list.firstElementChild.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  async function reloadLogs() {
    const generation = ++state.generation;
    const params = filterParams();
    params.set('limit', String(FIRST_PAGE));
    try {
      const page = await api('logs?' + params);
      if (generation !== state.generation) return;
      $('logs').replaceChildren();
      state.cursor = page.cursor;
      state.older = page.older;
      $('older').disabled = !page.older;
      showSource(page);
      append(page.entries);
      $('logs').scrollTop = $('logs').scrollHeight;
      report('logs');
    } catch (err) {
      report('logs', err);
    }
  }

  /** Fetches what came after the cursor; false when there is nothing to poll from yet. */
  async function pollLogs() {
    if (!$('follow').checked || state.cursor === null) return false;
    const generation = state.generation;
    const params = filterParams();
    params.set('after', state.cursor);
    params.set('limit', '500');
    const page = await api('logs?' + params);
    if (generation !== state.generation) return;
    state.cursor = page.cursor;
    showSource(page);
    append(page.entries);
    if (page.more) await pollLogs();
    return true;
  }

  async function loadOlder() {
    if (!state.older) return;
    const generation = state.generation;
    const params = filterParams();
    params.set('before', state.older);
    params.set('limit', String(FIRST_PAGE));
    try {
      const page = await api('logs?' + params);
      if (generation !== state.generation) return;
      state.older = page.older;
      $('older').disabled = !page.older;
      $('logs').prepend(...page.entries.map(line));
    } catch (err) {
      report('logs', err);
    }
  }

  /** Runs `task` now and `ms` after each run ends; a task that returns false did not reach the server. */
  function every(ms, source, task) {
    const run = async () => {
      try {
        if (await task() !== false) report(source);
      } catch (err) {
        report(source, err);
      }
      setTimeout(run, ms);
    };
    run();
  }

  let typing;
  $('filter-text').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(reloadLogs, 300);
  });
  $('filter-replica').addEventListener('change', () => selectReplica($('filter-replica').value));
  $('filter-level').addEventListener('change', reloadLogs);
  $('older').addEventListener('click', loadOlder);
  $('auth').addEventListener('submit', (event) => {
    event.preventDefault();
    state.token = $('token').value;
    sessionStorage.setItem('nrha-token', state.token);
    $('auth').hidden = true;
    reloadLogs();
  });

  every(STATUS_EVERY_MS, 'status', async () => renderStatus(await api('status')));
  reloadLogs().then(() => every(LOGS_EVERY_MS, 'logs', pollLogs));
}());
