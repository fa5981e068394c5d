/** The generated descriptor module must match the .proto files it is generated from. */
import * as fs from 'fs';
import { descriptorModulePath, generateDescriptorModule } from '../../src/tfplugin/gen-descriptor';

test('descriptor.generated.ts is up to date with the .proto files', () => {
  const expected = generateDescriptorModule();
  const actual = fs.readFileSync(descriptorModulePath(), 'utf8');
  if (actual !== expected) {
    throw new Error('src/tfplugin/descriptor.generated.ts is stale: run `npx tsc -p tsconfig.json && node dist/src/tfplugin/gen-descriptor.js`');
  }
});
