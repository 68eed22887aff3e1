import { startWorker } from '../worker/start.js';
import { BackupError, type BackupResult } from './backup.js';

export interface BackupRequest {
  source: string;
  destination: string;
}
export type BackupReply = { type: 'done'; result: BackupResult } | { type: 'failed'; message: string; name: string };

export interface BackupUnderWay {
  /** The checked copy, or the reason there is none (a BackupError when the copy failed its check). */
  readonly done: Promise<BackupResult>;
  /** Stops at the next step (the partial file is removed); `done` then rejects. */
  cancel(): void;
}

/** backupDatabase (backup.ts) on a worker thread of its own. */
export function backupInThread(source: string, destination: string): BackupUnderWay {
  const worker = startWorker('backup-worker', import.meta.url, {
    name: 'backup',
    workerData: { source, destination } satisfies BackupRequest,
  });
  let reply: BackupReply | undefined;
  const done = new Promise<BackupResult>((resolve, reject) => {
    worker.once('message', (message: BackupReply) => (reply = message));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (reply?.type === 'done') resolve(reply.result);
      else if (reply?.type === 'failed') reject(reply.name === 'BackupError' ? new BackupError(reply.message) : new Error(reply.message));
      else reject(new Error(`the backup thread exited (code ${code}) without an answer`));
    });
  });
  return { done, cancel: () => worker.postMessage('cancel') };
}
