import { main } from '../run.js';

await main('legacy', process.argv.slice(2));
