import { limiterContract } from './contract.ts';
import { MemoryLimiter } from './memory-limiter.ts';

limiterContract('MemoryLimiter', () => new MemoryLimiter());
