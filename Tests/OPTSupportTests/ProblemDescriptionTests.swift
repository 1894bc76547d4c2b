import Foundation
import OPTSupport
import Testing

/// Errors from Foundation's decoders and file calls, as the one line a user sees.
@Suite("Problem descriptions")
struct ProblemDescriptionTests {
    struct Suite: Decodable {
        enum Role: String, Decodable { case train, test }
        struct Task: Decodable { var role: Role }
        var title: String
        var shots: [Int]
        var tasks: [Task]
    }

    func problem(_ json: String) -> String {
        do {
            _ = try JSONDecoder().decode(Suite.self, from: Data(json.utf8))
            return "decoded"
        } catch { return DecodingProblem.describe(error) }
    }

    @Test func decodingErrorsSayWhatAndWhere() {
        #expect(problem(#"{"shots": [0], "tasks": []}"#) == #"missing key "title""#)
        #expect(problem(#"{"title": "t", "shots": "zero", "tasks": []}"#) == "expected a list at shots")
        #expect(problem(#"{"title": "t", "shots": [0, "1"], "tasks": []}"#) == "expected an integer at shots[1]")
        #expect(problem(#"{"title": "t", "shots": [], "tasks": [{"role": "banana"}]}"#) == #"invalid value "banana" at tasks[0].role"#)
        #expect(problem(#"{"title": "t", "shots": [], "tasks": [{}]}"#) == #"missing key "role" in tasks[0]"#)
        #expect(problem(#"{"title": null, "shots": [], "tasks": []}"#) == "expected a string, found null at title")
        // JSONDecoder says no more than that the data is not JSON; JSONSerialization says what and where.
        let broken = Data(#"{"title": "t",, }"#.utf8)
        do {
            _ = try JSONDecoder().decode(Suite.self, from: broken)
            Issue.record("decoded")
        } catch {
            #expect(DecodingProblem.describe(error, json: broken) == "not valid JSON: Invalid value around character 14.")
        }
    }

    @Test func fileErrorsSayWhatTheSystemSaid() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("problem-\(UUID().uuidString)")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let inside = file.appendingPathComponent("folder")
        do {
            try FileManager.default.createDirectory(at: inside, withIntermediateDirectories: true)
            Issue.record("a folder was made inside a file")
        } catch {
            #expect(FileProblem.describe(error) == "\(inside.path): Not a directory")
            #expect(FileProblem.reason(error) == "Not a directory")
        }
        do {
            try FileManager.default.createDirectory(at: file, withIntermediateDirectories: false)
            Issue.record("a folder was made over a file")
        } catch {
            #expect(FileProblem.describe(error) == "\(file.path): File exists")
        }
        #expect(FileProblem.describe(DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "x"))) == nil)
    }

    @Test func textThatIsNotUTF8IsRefusedWithItsOffset() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("utf8-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("héllo".utf8 + [0xC3, 0x28] + Data("!".utf8)).write(to: file)
        #expect(throws: UTF8File.Problem.self) { try UTF8File.read(file) }
        do { _ = try UTF8File.read(file) } catch { #expect(error.reason == "not UTF-8 text (an invalid byte sequence at offset 6)") }
        try Data("héllo wörld".utf8).write(to: file)
        #expect(try UTF8File.read(file) == "héllo wörld")
        do { _ = try UTF8File.read(file.appendingPathComponent("x")) } catch { #expect(error.reason == "Not a directory") }
    }
}
