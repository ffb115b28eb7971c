import { main } from '../run.js';

await main('rc', process.argv.slice(2));
