// Imported first by the binaries that move archive bytes (see src/core/heap.ts): evaluated before the modules
// the binary loads after it, so the SDK's loading does not grow the young generation either.
import { keepYoungGenerationSmall } from '../core/heap.js';

keepYoungGenerationSmall();
