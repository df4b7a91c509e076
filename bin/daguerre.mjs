#!/usr/bin/env node
// The `daguerre` command: runs the CLI from the TypeScript sources through tsx (no build step needed).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
process.exitCode = await main(process.argv);
