import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import { causalLogContract } from "./CausalLogContract.ts"

causalLogContract("memory", () => MemoryCausalLog.layerMemory)
