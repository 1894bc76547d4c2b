import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

/// An output that names an input is refused before anything is written, however its path is spelled.
@Suite(.enabled(if: optimlBinary != nil, "needs the optiml executable, which `swift test` builds beside the test bundle"))
struct OutputPathTests {
    @Test func evalScoreKeepsItsInputs() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-outputs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let predictions = work.appendingPathComponent("predictions.jsonl"), references = work.appendingPathComponent("references.jsonl")
        let predictionLines = #"{"id": "a", "prediction": "yes"}"# + "\n"
        try predictionLines.write(to: predictions, atomically: true, encoding: .utf8)
        try (#"{"id": "a", "references": ["yes"]}"# + "\n").write(to: references, atomically: true, encoding: .utf8)
        for (input, option) in [(predictions, "--prediction-file"), (references, "--reference-file")] {
            let (status, output, _) = try CrashRecoveryTests.launch(
                ["eval", "score", "--prediction-file", predictions.path, "--reference-file", references.path,
                 "--output-file", work.path + "/./" + input.lastPathComponent], killAfter: nil)
            #expect(status != 0 && output.contains("is the \(option)"), "\(output)")
        }
        #expect(try String(contentsOf: predictions, encoding: .utf8) == predictionLines)
        let report = work.appendingPathComponent("report.json")
        try CrashRecoveryTests.optiml(["eval", "score", "--prediction-file", predictions.path, "--reference-file", references.path,
                                       "--output-file", report.path])
        #expect(try String(contentsOf: report, encoding: .utf8).contains("exact_match"))
    }
}

/// Option values a command cannot honour are refused before it allocates anything.
@Suite(.enabled(if: optimlBinary != nil, "needs the optiml executable, which `swift test` builds beside the test bundle"))
struct OptionBoundsTests {
    /// More threads than the pool has (it crashed allocating a workspace a thread), on a model command and the others.
    @Test(arguments: [["generate", "--model", CrashRecoveryTests.model.path, "--prompt", "Hi"], ["speed-gemm"],
                      ["train-speed", "--model", CrashRecoveryTests.model.path]])
    func threadsBeyondThePool(command: [String]) throws {
        for threads in ["100000", "9223372036854775807", "0"] {
            let (status, output, _) = try CrashRecoveryTests.launch(command + ["--threads", threads], killAfter: nil)
            #expect(status == 64 && output.contains("--threads must be between 1 and 256, got \(threads)"), "\(output)")
        }
    }

    /// A memory budget under one byte (it was taken as 0, and the server refused every request).
    @Test func aMemoryBudgetUnderOneByte() throws {
        let (status, output, _) = try CrashRecoveryTests.launch(
            ["serve", "--model", CrashRecoveryTests.model.path, "--max-memory", "0.5"], killAfter: nil)
        #expect(status == 64 && output.contains("--max-memory must be a number of bytes, at least 1"), "\(output)")
    }

    /// A shot count or level listed twice (it was run and recorded twice).
    @Test func aShotCountListedTwice() throws {
        for (option, value) in [("--shots", "0,5,0"), ("--levels", "1,1")] {
            let (status, output, _) = try CrashRecoveryTests.launch(
                ["eval", "--model", CrashRecoveryTests.model.path, "--bench", "/nowhere", "--out", "/nowhere/out", option, value], killAfter: nil)
            #expect(status == 64 && output.contains("\(option) \(value): \(value.prefix(1)) is listed twice"), "\(output)")
        }
    }

    /// A port another program listens on: the address and the system's word, not the socket call's.
    @Test func aPortInUse() throws {
        #if canImport(Glibc)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let listener = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 1) == 0
                && getsockname(listener, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let (status, output, _) = try CrashRecoveryTests.launch(
            ["serve", "--model", CrashRecoveryTests.model.path, "--port", "\(port)"], killAfter: 60)
        #expect(status == 1 && output.contains("Error: cannot serve on 127.0.0.1:\(port): Address already in use"), "\(output)")
    }
}
