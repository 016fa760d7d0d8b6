import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import { fileTypeFromBuffer } from 'file-type';
import { ArtifactTooLarge, type ArtifactStore } from '../artifacts';
import { PROOF_KINDS, type ProofKind } from '../domain/supervision';
import { Problem } from './problem';

/** Types a supervision file may have: documents, images, archives of them, plain text. */
export const SUPERVISION_FILE_TYPES: Record<string, string> = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'application/zip': 'zip',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'text/plain': 'txt',
};
const MAX_FILES = 10;
const SNIFF_BYTES = 4100;

export interface UploadedFile { index: number; key: string; kind: ProofKind; filename: string; contentType: string; size: number; sha256: string }

const unsupported = (detail: string) => new Problem(415, 'Unsupported Media Type', detail);
const badPart = (detail: string) => new Problem(400, 'Bad Request', detail);

/** A file name kept for display and downloads: no path separators or control characters, at most 200 characters. */
const safeName = (name: string) => [...name].map((c) => (c === '/' || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? '_' : c)).join('').slice(0, 200);

/** Reads a stream's first `n` bytes (or all of a shorter one) and leaves the rest unread. */
function readHead(file: Readable, n: number): Promise<{ head: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => { file.off('data', onData); file.off('end', onEnd); file.off('error', onError); };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size >= n) { file.pause(); stop(); resolve({ head: Buffer.concat(chunks), ended: false }); }
    };
    const onEnd = () => { stop(); resolve({ head: Buffer.concat(chunks), ended: true }); };
    const onError = (e: Error) => { stop(); reject(e); };
    file.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/**
 * The file's type from its first bytes (not from what the client declared): a mismatch is refused before
 * anything is stored. Returns the whole file again as one stream.
 */
async function checkedType(file: Readable, declared: string): Promise<Readable> {
  const { head, ended } = await readHead(file, SNIFF_BYTES);
  const found = await fileTypeFromBuffer(head);
  // text/plain has no signature: it is accepted when nothing binary is recognised and it holds no NUL.
  const ok = declared === 'text/plain' ? !found && !head.includes(0) : found?.mime === declared;
  if (!ok) throw unsupported(`the file's content is ${found?.mime ?? 'not recognised'}, not ${declared}`);
  const body = new PassThrough();
  body.write(head);
  if (ended) body.end();
  else file.pipe(body);
  return body;
}

/**
 * Streams the files of a multipart/form-data request into the artifact store under `keyFor(index)`.
 * Each file part's field name is its proof kind (`statement_of_work`, `screenshot`, …). Nothing is kept
 * when any part fails: files stored before the failure are deleted again, so a bad request changes nothing.
 * The media type was checked at the edge (api/edge.ts `multipartBody`, from the route's `multipart` declaration).
 */
export async function receiveFiles(req: Request, store: ArtifactStore, o: {
  maxBytes: number; keyFor: (index: number) => string;
  /** True when the file at `index` was stored by an earlier try of the same request: it is read past, not stored again. */
  stored?: (index: number) => Promise<boolean>;
}): Promise<(UploadedFile | { index: number; replayed: true })[]> {
  const stored: (UploadedFile & { index: number })[] = [];
  const replayed: { index: number; replayed: true }[] = [];
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: MAX_FILES, fields: 0, parts: MAX_FILES, fileSize: o.maxBytes + 1 } });
  } catch (e) {
    throw badPart(`malformed multipart request: ${(e as Error).message}`);
  }
  const work: Promise<void>[] = [];
  let failure: unknown;
  const fail = (e: unknown) => { failure ??= e; };
  parser.on('file', (field: string, file: Readable, info: busboy.FileInfo) => {
    const index = work.length;
    const p = (async () => {
      if (failure) { file.resume(); return; }
      if (!(PROOF_KINDS as readonly string[]).includes(field)) throw badPart(`file field "${field}" must name a proof kind: ${PROOF_KINDS.join(', ')}`);
      const contentType = info.mimeType.toLowerCase();
      if (!SUPERVISION_FILE_TYPES[contentType]) throw unsupported(`${info.filename || 'a file'}: type ${contentType} is not allowed (allowed: ${Object.keys(SUPERVISION_FILE_TYPES).join(', ')})`);
      const filename = safeName(info.filename || `file.${SUPERVISION_FILE_TYPES[contentType]}`);
      if (await o.stored?.(index)) { file.resume(); replayed.push({ index, replayed: true }); return; }
      const key = o.keyFor(index);
      const r = await store.put(key, await checkedType(file, contentType), { maxBytes: o.maxBytes, contentType });
      stored.push({ index, key, kind: field as ProofKind, filename, contentType, size: r.size, sha256: r.sha256 });
    })().catch((e: unknown) => { file.resume(); fail(e); });
    work.push(p);
  });
  parser.on('field', () => undefined);
  const finished = new Promise<void>((resolve, reject) => {
    parser.on('close', resolve);
    parser.on('error', (e: Error) => reject(badPart(`malformed multipart request: ${e.message}`)));
    parser.on('filesLimit', () => fail(badPart(`at most ${MAX_FILES} files per request`)));
    parser.on('partsLimit', () => fail(badPart(`at most ${MAX_FILES} parts per request`)));
    req.on('aborted', () => reject(badPart('the request was aborted')));
  });
  req.pipe(parser);
  try {
    await finished;
    await Promise.all(work);
    if (failure) throw failure;
    if (stored.length + replayed.length === 0) throw badPart('the request holds no file');
  } catch (e) {
    await Promise.allSettled(work);
    await Promise.all(stored.map((f) => store.delete(f.key).catch(() => undefined)));
    if (e instanceof ArtifactTooLarge) throw new Problem(413, 'Payload Too Large', `a file is larger than ${o.maxBytes} bytes`);
    throw e;
  }
  return [...stored, ...replayed].sort((a, b) => a.index - b.index);
}
