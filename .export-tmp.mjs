import Database from 'better-sqlite3';
import { createWriteStream } from 'node:fs';
const [db, out] = process.argv.slice(2);
const d = new Database(db, { readonly: true });
const w = createWriteStream(out);
let n = 0;
for (const row of d.prepare('SELECT json FROM events').iterate()) { if (!w.write(row.json + '\n')) await new Promise(r => w.once('drain', r)); n++; }
w.end(); console.log(n);
