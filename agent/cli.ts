/**
 * The CDS agent ("activation script", contract README):
 *
 *   CDS_TOKEN=<pbx token> npm run cds-agent -- --pbx SERIAL --source DIR --gateway URL [--region R]
 *   CDS_TOKEN=<pbx token> npm run cds-agent -- --pbx SERIAL --source DIR --gateway URL --purge
 *
 * Every copy waits for its fsync in libuv's thread pool; the default of four
 * threads would let only four files be written at once. The pool is sized
 * before anything uses it, hence this small entry point.
 */
process.env.UV_THREADPOOL_SIZE ??= '32';

void import('./main').then(({ main }) => main(process.argv.slice(2)));
