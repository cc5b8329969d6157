// Driver: @aws-sdk/client-s3 (+ lib-storage for multipart, s3-request-presigner for presigned URLs) on Node, in
// its default configuration; a deserialize-step middleware records the signed request and the raw response.
"use strict";
const fs = require("fs");
const http = require("http");
const https = require("https");
const crypto = require("crypto");
const { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand, CopyObjectCommand,
  ListObjectsV2Command, DeleteObjectCommand } = require("@aws-sdk/client-s3");

const WIRE = [];
const SSE = ["ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "SSECustomerAlgorithm", "SSECustomerKeyMD5"];
const CHECKSUMS = ["ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256",
  "ChecksumType"];

function pick(obj, names) {
  const out = {};
  for (const n of names) if (obj[n] !== undefined) out[n] = obj[n];
  return out;
}

function client(job) {
  const options = { endpoint: job.endpoint, region: job.region,
    credentials: { accessKeyId: job.access_key, secretAccessKey: job.secret_key } };
  if (job.ca_file) options.requestHandler = { httpsAgent: new https.Agent({ ca: fs.readFileSync(job.ca_file) }) };
  const s3 = new S3Client(options);
  s3.middlewareStack.add((next) => async (args) => {
    const r = args.request;
    const query = new URLSearchParams(r.query || {}).toString();
    const entry = { request: { method: r.method, url: `${r.protocol}//${r.hostname}:${r.port || ""}${r.path}${query ? "?" + query : ""}`,
      headers: { ...r.headers }, body: typeof r.body === "string" ? r.body.slice(0, 2048) : "" }, response: null };
    WIRE.push(entry);
    const out = await next(args);
    const res = out.response;
    entry.response = { status: res.statusCode, headers: { ...res.headers }, body: "" };
    return out;
  }, { step: "deserialize", name: "s3cWireLog", priority: "low" });
  return s3;
}

async function readAll(body) {
  const bytes = await body.transformToByteArray();
  return Buffer.from(bytes);
}

async function get(s3, job, extra = {}) {
  const r = await s3.send(new GetObjectCommand({ Bucket: job.bucket, Key: job.key, ...extra }));
  const data = await readAll(r.Body);
  return { sha256: crypto.createHash("sha256").update(data).digest("hex"), size: data.length, get_sse: pick(r, SSE),
    content_range: r.ContentRange };
}

async function putGet(job, extra = {}, stream = false) {
  const s3 = client(job);
  const body = stream ? fs.createReadStream(job.payload) : fs.readFileSync(job.payload);
  const params = { Bucket: job.bucket, Key: job.key, Body: body, ...extra };
  if (stream) params.ContentLength = fs.statSync(job.payload).size;
  const put = await s3.send(new PutObjectCommand(params));
  const read = {};
  for (const k of ["SSECustomerAlgorithm", "SSECustomerKey"]) if (extra[k] !== undefined) read[k] = extra[k];
  return { sse: pick(put, SSE), checksums: pick(put, CHECKSUMS), ...(await get(s3, job, read)) };
}

async function listing(job) {
  const r = await client(job).send(new ListObjectsV2Command({ Bucket: job.bucket, Prefix: job.prefix }));
  return { keys: (r.Contents || []).map((c) => c.Key) };
}

function fetchUrl(method, url, job, data) {
  return new Promise((resolve, reject) => {
    const entry = { request: { method, url, headers: {}, body: "" }, response: null };
    WIRE.push(entry);
    const options = { method, ca: job.ca_file ? fs.readFileSync(job.ca_file) : undefined,
      headers: data ? { "content-length": data.length } : {} };
    const transport = url.startsWith("https:") ? https : http;
    if (transport === http) delete options.ca;
    const req = transport.request(url, options, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        entry.response = { status: res.statusCode, headers: res.headers, body: res.statusCode >= 300 ? body.toString().slice(0, 2048) : "" };
        resolve({ status: res.statusCode, body });
      });
    });
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

async function presign(job, command) {
  const { getSignedUrl } = require("@aws-sdk/s3-request-presigner");
  return getSignedUrl(client(job), command, { expiresIn: 600 });
}

const ssec = (job) => ({ SSECustomerAlgorithm: "AES256", SSECustomerKey: Buffer.from(job.sse_c_key, "base64") });

const SCENARIOS = {
  "create-bucket": async (job) => { await client(job).send(new CreateBucketCommand({ Bucket: job.bucket })); return {}; },
  "put-get": (job) => putGet(job),
  "multipart": async (job) => {
    const { Upload } = require("@aws-sdk/lib-storage");
    const s3 = client(job);
    await new Upload({ client: s3, params: { Bucket: job.bucket, Key: job.key, Body: fs.createReadStream(job.payload) } }).done();
    return get(s3, job);
  },
  "ranged-get": (job) => get(client(job), job, { Range: `bytes=${job.range[0]}-${job.range[1]}` }),
  "copy": async (job) => {
    const s3 = client(job);
    await s3.send(new CopyObjectCommand({ Bucket: job.bucket, Key: job.key,
      CopySource: `${job.bucket}/${encodeURIComponent(job.source)}` }));
    return get(s3, job);
  },
  "list": listing,
  "delete": async (job) => { await client(job).send(new DeleteObjectCommand({ Bucket: job.bucket, Key: job.key })); return {}; },
  "sse-s3": (job) => putGet(job, { ServerSideEncryption: "AES256" }),
  "sse-kms": (job) => putGet(job, { ServerSideEncryption: "aws:kms", SSEKMSKeyId: job.kms_key_id }),
  "sse-kms-bucket-key": (job) => putGet(job, { ServerSideEncryption: "aws:kms", SSEKMSKeyId: job.kms_key_id,
    BucketKeyEnabled: true }),
  "sse-c": (job) => putGet(job, ssec(job)),
  "presigned-get": async (job) => {
    const url = await presign(job, new GetObjectCommand({ Bucket: job.bucket, Key: job.key }));
    const r = await fetchUrl("GET", url, job);
    return { status: r.status, sha256: crypto.createHash("sha256").update(r.body).digest("hex"), size: r.body.length };
  },
  "presigned-put": async (job) => {
    const url = await presign(job, new PutObjectCommand({ Bucket: job.bucket, Key: job.key }));
    const r = await fetchUrl("PUT", url, job, fs.readFileSync(job.payload));
    return { status: r.status };
  },
  "checksums": async (job) => {
    const out = await putGet(job, {}, true);
    const head = await client(job).send(new HeadObjectCommand({ Bucket: job.bucket, Key: job.key, ChecksumMode: "ENABLED" }));
    out.head_checksums = pick(head, CHECKSUMS);
    return out;
  },
  "empty-object": (job) => putGet(job),
  "unicode-key": async (job) => ({ ...(await putGet(job)), ...(await listing(job)) }),
};

async function main() {
  const job = JSON.parse(fs.readFileSync(0, "utf8"));
  let out;
  try {
    const handler = SCENARIOS[job.scenario];
    out = handler ? { observed: await handler(job) } : { na: `the driver has no scenario ${job.scenario}` };
  } catch (err) {
    const meta = err.$metadata ? ` (HTTP ${err.$metadata.httpStatusCode})` : "";
    out = { error: `${err.name || "Error"}: ${String(err.message).slice(0, 600)}${meta}` };
    if (err.$response && WIRE.length && !WIRE[WIRE.length - 1].response) {
      WIRE[WIRE.length - 1].response = { status: err.$response.statusCode, headers: err.$response.headers, body: "" };
    }
  }
  out.wire = WIRE.slice(-6);
  process.stdout.write("\n" + JSON.stringify(out) + "\n");
}

main();
