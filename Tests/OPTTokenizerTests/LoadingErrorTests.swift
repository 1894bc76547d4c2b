import Foundation
import Testing
@testable import OPTTokenizer

/// Missing and malformed files give errors that name the file and the problem.
@Suite struct LoadingErrorTests {
    private func write(_ text: String, _ name: String, in directory: URL) throws {
        try Data(text.utf8).write(to: directory.appendingPathComponent(name))
    }

    /// A temporary copy of the trained tokenizer's files, with `edit` applied to it.
    private func trainedCopy(_ names: [String], edit: (URL) throws -> Void) throws -> URL {
        let directory = try Fixtures.copy(names, from: Fixtures.trainedDirectory())
        try edit(directory)
        return directory
    }

    private func loadError(_ directory: URL) -> TokenizerError? {
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            _ = try BPETokenizer.load(directory: directory)
            return nil
        } catch let error as TokenizerError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    @Test func missingDirectory() {
        let directory = URL(fileURLWithPath: "/nonexistent/opt-tokenizer-\(UUID().uuidString)")
        let error = loadError(directory)
        guard case .missingFiles(let path, let found) = error else {
            Issue.record("expected missingFiles, got \(String(describing: error))")
            return
        }
        #expect(path == directory.path)
        #expect(found.isEmpty)
        #expect(error?.description.contains("tokenizer.json") == true)
    }

    @Test func vocabWithoutMerges() throws {
        let error = loadError(try trainedCopy(["vocab.json", "tokenizer_config.json"]) { _ in })
        guard case .missingFiles(_, let found) = error else {
            Issue.record("expected missingFiles, got \(String(describing: error))")
            return
        }
        #expect(found == ["tokenizer_config.json", "vocab.json"])
        #expect(error?.description.contains("vocab.json") == true)
    }

    @Test func aLargeFolderIsListedInPart() {
        let description = TokenizerError.missingFiles(directory: "/data", found: (0..<40).map { "file\($0)" }).description
        #expect(description.hasSuffix("it holds: " + (0..<12).map { "file\($0)" }.joined(separator: ", ") + ", and 28 more"))
    }

    @Test func malformedTokenizerJSON() throws {
        let error = loadError(try trainedCopy([]) { try write("{\"model\": {\"type\": \"BPE\", ", "tokenizer.json", in: $0) })
        guard case .malformedJSON(let path, _) = error else {
            Issue.record("expected malformedJSON, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("tokenizer.json"))
    }

    @Test func malformedConfig() throws {
        let error = loadError(try trainedCopy(["tokenizer.json"]) { try write("[1, 2", "tokenizer_config.json", in: $0) })
        guard case .malformedJSON(let path, _) = error else {
            Issue.record("expected malformedJSON, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("tokenizer_config.json"))
    }

    @Test func vocabWithNonIntegerID() throws {
        let error = loadError(try trainedCopy(["merges.txt"]) { try write("{\"a\": \"zero\"}", "vocab.json", in: $0) })
        guard case .malformedJSON(let path, let reason) = error else {
            Issue.record("expected malformedJSON, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("vocab.json"))
        #expect(reason.contains("\"a\""))
    }

    @Test func badMergesLine() throws {
        let directory = try trainedCopy(["vocab.json"]) { directory in
            let merges = try String(contentsOf: Fixtures.trainedDirectory().appendingPathComponent("merges.txt"), encoding: .utf8)
            var lines = merges.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines[5] = "three tokens here"
            try write(lines.joined(separator: "\n"), "merges.txt", in: directory)
        }
        let error = loadError(directory)
        guard case .badMergesLine(let path, let line, let text) = error else {
            Issue.record("expected badMergesLine, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("merges.txt"))
        #expect(line == 6)
        #expect(text == "three tokens here")
        #expect(error?.description.contains("line 6") == true)
    }

    @Test func mergeOfUnknownToken() throws {
        let error = loadError(try trainedCopy(["vocab.json"]) { try write("#version: 0.2\nĠ zzzz\n", "merges.txt", in: $0) })
        guard case .mergeTokenNotInVocabulary(_, let token) = error else {
            Issue.record("expected mergeTokenNotInVocabulary, got \(String(describing: error))")
            return
        }
        #expect(token == "zzzz")
    }

    /// Rewrites the trained tokenizer.json with `change` applied to its top-level object.
    private func editedTokenizerJSON(_ change: @escaping (inout [String: Any]) -> Void) throws -> URL {
        try trainedCopy([]) { directory in
            let data = try Data(contentsOf: Fixtures.trainedDirectory().appendingPathComponent("tokenizer.json"))
            var root = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
            change(&root)
            try JSONSerialization.data(withJSONObject: root).write(to: directory.appendingPathComponent("tokenizer.json"))
        }
    }

    @Test func unknownModelType() throws {
        let directory = try editedTokenizerJSON { root in
            root["model"] = ["type": "WordPiece", "vocab": ["[UNK]": 0], "unk_token": "[UNK]"] as [String: Any]
        }
        let error = loadError(directory)
        guard case .unsupportedModel(let path, let type) = error else {
            Issue.record("expected unsupportedModel, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("tokenizer.json"))
        #expect(type == "WordPiece")
        #expect(error?.description.contains("WordPiece") == true)
    }

    @Test func unsupportedNormalizer() throws {
        let error = loadError(try editedTokenizerJSON { $0["normalizer"] = ["type": "NFKC"] })
        guard case .unsupportedComponent(_, let component, _) = error else {
            Issue.record("expected unsupportedComponent, got \(String(describing: error))")
            return
        }
        #expect(component == "normalizer")
    }

    @Test func unsupportedPreTokenizer() throws {
        let error = loadError(try editedTokenizerJSON { $0["pre_tokenizer"] = ["type": "Whitespace"] })
        guard case .unsupportedComponent(_, let component, let detail) = error else {
            Issue.record("expected unsupportedComponent, got \(String(describing: error))")
            return
        }
        #expect(component == "pre_tokenizer")
        #expect(detail.contains("Whitespace"))
    }

    @Test func memberwiseInitializerRejectsUnknownSpecialToken() {
        #expect(throws: TokenizerError.self) {
            _ = try BPETokenizer(vocab: ["a": 0, "b": 1, "ab": 2], merges: [("a", "b")], addedTokens: [:],
                                 bosToken: "<missing>", eosToken: nil, padToken: nil, unkToken: nil, addBOS: true)
        }
    }
}
