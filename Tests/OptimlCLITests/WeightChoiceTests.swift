import Foundation
import Testing

/// `int4-head4` in the lists of `optiml accuracy` and `optiml speed`: int4 with the lm_head in int4 too, a row
/// of its own; a name outside the list is refused, naming the choices.
@Suite(.enabled(if: optimlBinary != nil, "needs the optiml executable, which `swift test` builds beside the test bundle"))
struct WeightChoiceTests {
    @Test func int4WithItsHeadInInt4IsARowOfItsOwn() throws {
        let output = try CrashRecoveryTests.optiml(
            ["accuracy", "--model", CrashRecoveryTests.model.path, "--dtype", "int4,int4-head4", "--positions", "64",
             "--sequence-length", "32", "--threads", "1", "--json"])
        let rows = try output.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(rows.map { $0["dtype"] as? String } == ["int4", "int4-head4"])
        let differences = rows.compactMap { $0["max_abs_diff"] as? Double }
        #expect(differences.count == 2 && differences[0] != differences[1], "the head's format changes the logits: \(output)")

        let (status, refusal, _) = try CrashRecoveryTests.launch(
            ["speed", "--model", CrashRecoveryTests.model.path, "--dtype", "int4-head8"], killAfter: nil)
        #expect(status != 0 && refusal.contains("expected f32, f16, bf16, int8, int4 or int4-head4"), "\(refusal)")
    }
}
