/**
 * One load generator process (forked by LoadPool). argv[2] is a JSON WorkerInit.
 * Encodes its part of every requested frame set, says `ready`, then runs one
 * load per `run` message and answers with the result. Exits on `exit` or when
 * the parent goes away.
 */
import { buildFrameSet, type FrameSet } from './frames.js';
import { runLoad } from './load.js';
import type { FromWorker, SetInfo, ToWorker, WorkerInit } from './load-pool.js';

function send(m: FromWorker): void {
  // The runner may be gone (stopped while we were encoding): then there is nobody to tell.
  if (!process.connected) process.exit(0);
  process.send?.(m, undefined, undefined, (err: Error | null) => {
    if (err) process.exit(0);
  });
}

function main(): void {
  const init = JSON.parse(process.argv[2] ?? '{}') as WorkerInit;
  const sets = new Map<string, FrameSet>();
  const info: Record<string, SetInfo> = {};
  for (const name of init.sets) {
    const set = buildFrameSet(name, { ...init.frames, part: init.part });
    sets.set(name, set);
    info[name] = { sessions: set.sessions.length, calls: set.calls, bytes: set.bytes, rpcCounts: set.rpcCounts };
  }
  let busy = false;
  process.on('message', (m: ToWorker) => {
    if (m.type === 'exit') {
      process.disconnect();
      process.exit(0);
    }
    if (m.type !== 'run') return;
    const set = sets.get(m.run.set);
    if (!set || busy) {
      send({ type: 'error', id: m.id, message: busy ? 'already running' : `no frame set ${m.run.set}` });
      return;
    }
    busy = true;
    runLoad(set, { ...m.run, onPhase: (phase) => send({ type: 'phase', id: m.id, phase }) }).then(
      (result) => {
        busy = false;
        send({ type: 'result', id: m.id, result });
      },
      (err: unknown) => {
        busy = false;
        send({ type: 'error', id: m.id, message: err instanceof Error ? err.message : String(err) });
      },
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', sets: info });
}

main();
