// Gathers tar-stream's small pushes (a 512-byte header, a small file, its padding) into writes of ~256 KiB: one
// write per push cost more CPU on a tree of small files than reading them (each is a syscall into the pipe).
import { Transform } from 'node:stream';

export function coalesce(target = 256 * 1024): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  const take = (): Buffer => {
    const out = parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
    parts = [];
    size = 0;
    return out;
  };
  return new Transform({
    writableHighWaterMark: target,
    readableHighWaterMark: target,
    transform(chunk: Buffer, _encoding, callback) {
      if (chunk.length >= target) {
        if (size) this.push(take());
        this.push(chunk); // a big read goes on as it is, never copied
      } else {
        parts.push(chunk);
        size += chunk.length;
        if (size >= target) this.push(take());
      }
      callback();
    },
    flush(callback) {
      callback(null, size ? take() : undefined);
    },
  });
}
