// The job-output.test.ts suite again with its glacier-local serving HTTPS (a self-signed certificate the binaries
// trust through AWS_CA_BUNDLE): the same downloads, faults, resumes and `| head` over TLS, on the connections the
// data path opens itself. Job control requests (retrieve, describe, list, wait) go through the SDK's own HTTPS
// handler, trusted the same way (tls.test.ts).
process.env.GLACIER_TEST_TLS = '1';
await import('./job-output.test.js');
