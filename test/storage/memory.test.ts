// The storage conformance suite against storage-memory.
import { createMemoryStore } from '../../plugins/storage-memory/index.ts'
import { describeStore } from './conformance.ts'

describeStore('memory', () => ({ durable: false, open: async () => createMemoryStore() }))
