/**
 * A backup on a thread of its own (started by backupInThread, backup-thread.ts): the copy's steps, the
 * integrity_check and the event count of the copy — seconds on a large database — never hold the relay's
 * event loop. One thread per backup; it exits when the backup is done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { backupDatabase } from './backup.js';
import type { BackupReply, BackupRequest } from './backup-thread.js';

const port = parentPort;
if (!port) throw new Error('backup-worker must run in a worker thread');
const { source, destination } = workerData as BackupRequest;
let cancelled = false;
port.on('message', (message: 'cancel') => {
  if (message === 'cancel') cancelled = true;
});

backupDatabase(source, destination, { cancelled: () => cancelled })
  .then((result): BackupReply => ({ type: 'done', result }))
  .catch((error: Error): BackupReply => ({ type: 'failed', message: error.message, name: error.name }))
  .then((reply) => {
    port.postMessage(reply);
    port.close();
  });
