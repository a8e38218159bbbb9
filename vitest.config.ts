import { availableParallelism } from "node:os"
import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

// Suites that run whole clusters (three servers, a broker, sometimes a chain node) and kill
// members on purpose: they run after the rest, one file at a time, so a loaded machine does
// not starve their group heartbeats into spurious session expiries.
const clusterSuites = ["test/cluster/ClusterServe.test.ts", "test/cluster/ChainOwnerFailover.test.ts"]
// No test reads outside the repository: reads of its parent folder's other entries throw.
const setupFiles = ["test/hermetic/setupOutsideReadGuard.ts"]

export default defineConfig({
  // `causeway/verify` (package self-reference) resolves to its TypeScript source in tests.
  ssr: { resolve: { conditions: ["causeway-source", ...defaultServerConditions] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Vitest's default is one worker per core but one (so a single worker on CI's 2 cores);
    // most files spend their time waiting on servers, seals and brokers rather than on a
    // core, so at least two run at once: measured on 2 cores, the suite took 479 s instead
    // of 713 s, all green.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        extends: true,
        test: { name: "main", include: ["test/**/*.test.ts"], exclude: clusterSuites, setupFiles, sequence: { groupOrder: 0 } }
      },
      {
        extends: true,
        test: { name: "cluster", include: clusterSuites, fileParallelism: false, setupFiles, sequence: { groupOrder: 1 } }
      }
    ]
  }
})
