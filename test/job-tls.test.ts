// The job.test.ts suite again with every glacier-local serving HTTPS (a self-signed certificate the binaries
// trust through AWS_CA_BUNDLE): the same uploads, downloads, faults, resumes and signals over TLS.
process.env.GLACIER_TEST_TLS = '1';
await import('./job.test.js');
