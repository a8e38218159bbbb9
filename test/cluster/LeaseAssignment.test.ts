/**
 * The election's assignment (src/adapters/kafka/KafkaLeaderElection.ts): the lease goes to
 * the member the log says leads, else to a cluster member that has folded the highest term,
 * and to an instance outside the membership only when no member is in the group; the live
 * members travel to every member as one extra topic name of its assignment.
 */
import { describe, expect, it } from "vitest"
import { liveOf, pickHolder } from "../../src/adapters/kafka/KafkaLeaderElection.ts"

const member = (memberId: string, advertised: { key: string; leads: boolean; member: boolean; term: number } | undefined) => ({ memberId, advertised })
const k = (c: string) => c.repeat(64)

describe("the lease assignment", () => {
  it("keeps the lease with the log's leader, whatever the member ids", () => {
    expect(pickHolder([
      member("a", { key: k("1"), leads: false, member: true, term: 4 }),
      member("z", { key: k("2"), leads: true, member: true, term: 4 }),
      member("m", { key: k("3"), leads: false, member: true, term: 4 })
    ])).toBe("z")
  })

  it("without a leader, prefers members, then the highest term folded, then the smallest member id", () => {
    expect(pickHolder([
      member("a", { key: k("1"), leads: false, member: false, term: 9 }),
      member("b", { key: k("2"), leads: false, member: true, term: 3 }),
      member("c", { key: k("3"), leads: false, member: true, term: 2 })
    ])).toBe("b")
    expect(pickHolder([
      member("d", { key: k("1"), leads: false, member: true, term: 3 }),
      member("c", { key: k("2"), leads: false, member: true, term: 3 })
    ])).toBe("c")
  })

  it("never prefers a removed leader over a member, nor an instance that says nothing over one that does", () => {
    // A leader the log no longer names a member may still say it leads (its last view).
    expect(pickHolder([
      member("a", { key: k("1"), leads: true, member: false, term: 5 }),
      member("b", { key: k("2"), leads: false, member: true, term: 5 })
    ])).toBe("b")
    expect(pickHolder([member("a", undefined), member("b", { key: k("2"), leads: false, member: false, term: 0 })])).toBe("b")
    expect(pickHolder([])).toBeUndefined()
  })

  it("reads the live members from the assignment's topic names, ignoring anything that is not a key", () => {
    expect(liveOf(["causeway.control", `causeway-live:${k("b")},${k("a")},${k("b")},nonsense`])).toEqual([k("a"), k("b")])
    expect(liveOf(["causeway.control"])).toBeUndefined()
    expect(liveOf(["causeway-live:"])).toEqual([])
  })
})
