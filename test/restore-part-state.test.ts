// The state an S3 upload keeps across jobs, alone: the tree hash continued from its recorded subtree roots equals
// the archive's, and the journal keeps each upload's recorded parts (with the roots after the last) across a
// reopen and its compaction, forgetting them when the upload ends.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { TreeCombiner, TreeHasher } from '../src/core/tree-hash.js';
import { Journal } from '../src/restore/journal.js';

const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), 'glacier-restore-part-state-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('the state of an S3 upload across jobs', () => {
  it('a tree hash continued from the roots after k leaves equals the whole archive\'s, for every k', () => {
    const data = randomBytes(13 * MiB + 7);
    const whole = new TreeHasher().update(data).digest().treeHash;
    const leaves: Buffer[] = [];
    for (let o = 0; o < data.length; o += MiB) leaves.push(createHash('sha256').update(data.subarray(o, o + MiB)).digest());
    for (let k = 1; k < leaves.length; k++) {
      const before = new TreeCombiner();
      leaves.slice(0, k).forEach((l) => before.push(l));
      const after = TreeCombiner.resume(k, before.roots());
      leaves.slice(k).forEach((l) => after.push(l));
      assert.equal(after.digest().toString('hex'), whole, `continued after ${k} leaves`);
    }
    assert.throws(() => TreeCombiner.resume(3, [Buffer.alloc(32)]), /do not fit/);
  });

  it('the journal keeps the recorded parts in order across a reopen, and forgets them when the upload ends', async () => {
    const path = join(work, 'state.jsonl');
    const head = { vault: 'v', target: 's3://b/p/' };
    let j = await Journal.open(path, head, { windowMs: 1000 });
    await j.recordUpload('ARCHIVE', 'UPLOAD-1', 'p/x');
    await j.recordPart('ARCHIVE', 'UPLOAD-1', { n: 1, end: 8 * MiB, sha: 'c2hhMQ==', etag: '"e1"' }, 'a'.repeat(64));
    await j.recordPart('ARCHIVE', 'UPLOAD-1', { n: 2, end: 16 * MiB, sha: 'c2hhMg==', etag: '"e2"' }, 'b'.repeat(64));
    await j.recordPart('ARCHIVE', 'UPLOAD-1', { n: 4, end: 32 * MiB, sha: 'c2hhNA==', etag: '"e4"' }, 'd'.repeat(64)); // a gap: not kept
    await j.close();
    for (let i = 0; i < 2; i++) {
      j = await Journal.open(path, head, { windowMs: 1000 }); // replayed, then compacted
      assert.deepEqual(j.uploadParts('ARCHIVE'), {
        u: 'UPLOAD-1',
        parts: [
          { n: 1, end: 8 * MiB, sha: 'c2hhMQ==', etag: '"e1"' },
          { n: 2, end: 16 * MiB, sha: 'c2hhMg==', etag: '"e2"' },
        ],
        roots: 'b'.repeat(64),
      });
      await j.close();
    }
    j = await Journal.open(path, head, { windowMs: 1000 });
    await j.recordUploadEnd('ARCHIVE', 'UPLOAD-1');
    assert.equal(j.uploadParts('ARCHIVE'), undefined);
    await j.recordUpload('ARCHIVE', 'UPLOAD-2', 'p/x');
    assert.equal(j.uploadParts('ARCHIVE'), undefined, 'a new upload starts with no parts');
    await j.close();
  });
});
