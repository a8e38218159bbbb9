import * as MemoryCausalLog from "../../src/adapters/MemoryCausalLog.ts"
import { causalLogContract } from "./CausalLogContract.ts"

causalLogContract("memory", () => MemoryCausalLog.layerMemory)
