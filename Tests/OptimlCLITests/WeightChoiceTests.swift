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

    /// `quantize --calibration` rounds int4 by GPTQ over the text: it says what it ran, writes other levels than
    /// the nearest ones, and the file loads as any int4 one; with no int4 matrix to round the option is refused, and
    /// on a checkpoint stored in int4 it says that it had nothing to round.
    @Test func quantizeWithCalibration() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-gptq-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let text = work.appendingPathComponent("calibration.txt")
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        try readme.prefix(20_000).write(to: text, atomically: true, encoding: .utf8)
        let model = CrashRecoveryTests.model.path, nearest = work.appendingPathComponent("nearest").path
        let gptq = work.appendingPathComponent("gptq").path
        _ = try CrashRecoveryTests.optiml(["quantize", "--model", model, "--dtype", "int4", "--out", nearest])
        let output = try CrashRecoveryTests.optiml(
            ["quantize", "--model", model, "--dtype", "int4", "--out", gptq, "--calibration", text.path, "--calibration-positions", "300"])
        // Sequences as long as the model's 64 positions, until 300 are covered.
        #expect(output.contains("calibration: 320 positions of \(text.path)"), "\(output)")
        let weights = "model.safetensors"
        #expect(try Data(contentsOf: URL(fileURLWithPath: nearest).appendingPathComponent(weights))
            != Data(contentsOf: URL(fileURLWithPath: gptq).appendingPathComponent(weights)))
        _ = try CrashRecoveryTests.optiml(["score", "--model", gptq, "--context", "The model", "--continuation", " runs"])
        // Stored in int4 already, it has nothing to round again, and says so.
        let again = try CrashRecoveryTests.optiml(
            ["quantize", "--model", gptq, "--dtype", "int4", "--out", work.appendingPathComponent("again").path,
             "--calibration", text.path, "--calibration-positions", "300"])
        #expect(again.contains("no matrix was converted to int4"), "\(again)")

        let (status, refusal, _) = try CrashRecoveryTests.launch(
            ["quantize", "--model", model, "--dtype", "int8", "--out", gptq, "--calibration", text.path], killAfter: nil)
        #expect(status != 0 && refusal.contains("--calibration rounds int4 matrices only"), "\(refusal)")
    }

    /// What would lose data or write garbage is refused before anything is written: the source checkpoint as the output
    /// (however the path is spelled), and calibration text that is not UTF-8 (with where it stops being so).
    @Test func quantizeRefusesItsSourceAndTextThatIsNotUTF8() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-refusals-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let model = CrashRecoveryTests.model.path
        let (sameStatus, sameText, _) = try CrashRecoveryTests.launch(
            ["quantize", "--model", model, "--dtype", "int4", "--out", model + "/./"], killAfter: nil)
        #expect(sameStatus != 0 && sameText.contains("is the --model directory"), "\(sameText)")

        let binary = work.appendingPathComponent("binary.txt")
        try Data("héllo".utf8 + [0xC3, 0x28]).write(to: binary)
        let refused = work.appendingPathComponent("refused").path
        let (badStatus, badText, _) = try CrashRecoveryTests.launch(
            ["quantize", "--model", model, "--dtype", "int4", "--out", refused, "--calibration", binary.path], killAfter: nil)
        #expect(badStatus != 0 && badText.contains("\(binary.path): not UTF-8 text (an invalid byte sequence at offset 6)"), "\(badText)")
        #expect(!FileManager.default.fileExists(atPath: refused))
    }
}
