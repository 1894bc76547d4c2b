import Foundation
import OPTModel
import Testing

/// Broken model directories and requests get a clear `ModelError`, never a crash.
@Suite("Bad input")
struct BadInputTests {
    static let source = Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded")

    /// A scratch copy of the tiny model whose config.json is edited by `edit`.
    func copyWithConfig(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-bad-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.source, to: directory)
        let configURL = directory.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any] ?? [:]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        return directory
    }

    @Test func configMissingKeyNamesKeyAndFile() throws {
        let directory = try copyWithConfig { $0.removeValue(forKey: "hidden_size") }
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: ModelError.self) { try OPTModel(directory: directory) }
        #expect(error?.description.contains("hidden_size") == true)
        #expect(error?.description.contains("config.json") == true)
    }

    @Test func configWrongTypeIsReported() throws {
        let directory = try copyWithConfig { $0["num_hidden_layers"] = "two" }
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: ModelError.self) { try OPTModel(directory: directory) }
        #expect(error?.description.contains("num_hidden_layers") == true)
    }

    @Test func malformedConfigJSON() throws {
        let directory = try copyWithConfig { _ in }
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("{ \"hidden_size\": 32,".utf8).write(to: directory.appendingPathComponent("config.json"))
        let error = #expect(throws: ModelError.self) { try OPTModel(directory: directory) }
        #expect(error?.description.contains("not valid JSON") == true)
    }

    /// Sizes that would overflow `max_position_embeddings + 2` or BLAS's 32-bit sizes, and special ids outside the
    /// vocabulary, are refused before anything is computed with them.
    @Test(arguments: [("max_position_embeddings", Int.max), ("vocab_size", Int(Int32.max) + 1), ("ffn_dim", 1 << 40), ("pad_token_id", 999_999_999)])
    func configIntegersOutOfRange(key: String, value: Int) throws {
        let directory = try copyWithConfig { $0[key] = value }
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: ModelError.self) { try OPTModel(directory: directory) }
        #expect(error?.description.contains(key) == true && error?.description.contains("config.json") == true, "\(String(describing: error))")
    }

    @Test func headsThatDoNotDivideHidden() throws {
        let directory = try copyWithConfig { $0["num_attention_heads"] = 5 }
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: ModelError.self) { try OPTModel(directory: directory) }
        #expect(error?.description.contains("divisible") == true)
    }

    @Test func weightsOfTheWrongShapeNameTheTensor() throws {
        // The config promises a wider FFN than the stored fc1/fc2.
        let directory = try copyWithConfig { $0["ffn_dim"] = 128 }
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: ModelError.self) { try OPTModel(directory: directory) }
        guard case .wrongShape(let name, let expected, let found, _)? = error else {
            Issue.record("expected wrongShape, got \(String(describing: error))")
            return
        }
        #expect(name.contains("fc1.weight"))
        #expect(expected == [128, 32] && found == [64, 32])
    }

    @Test func missingTensorIsNamed() throws {
        // More layers than the checkpoint holds.
        let directory = try copyWithConfig { $0["num_hidden_layers"] = 3 }
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: ModelError.self) { try OPTModel(directory: directory) }
        #expect(error?.description.contains("layers.2.") == true)
    }

    @Test func unknownModelTypeIsRejected() throws {
        let directory = try copyWithConfig { $0["model_type"] = "llama" }
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: ModelError.self) { try OPTModel(directory: directory) }
    }

    @Test func emptyPromptIsAnError() throws {
        let generator = try Generator(directory: Self.source)
        #expect(throws: ModelError.emptyPrompt) { try generator.generate(prompt: "", parameters: GenerationParameters()) }
    }

    @Test func promptLongerThanPositionsIsAnError() throws {
        let generator = try Generator(directory: Self.source)
        let limit = generator.model.config.maxPositionEmbeddings
        let ids = [2] + Array(repeating: 10, count: limit)
        #expect(throws: ModelError.promptTooLong(tokens: limit + 1, limit: limit)) {
            try generator.generate(promptIDs: [ids], parameters: GenerationParameters())
        }
    }

    @Test func generationStopsAtThePositionLimit() throws {
        let generator = try Generator(directory: Self.source)
        let limit = generator.model.config.maxPositionEmbeddings
        var p = GenerationParameters()
        p.maxNewTokens = 100
        p.stopAtEOS = false
        let result = try generator.generate(promptIDs: [[2] + Array(repeating: 10, count: limit - 5)], parameters: p)[0]
        // The prompt holds limit − 4 positions; the 4 new tokens fill the rest (the last one is never fed back).
        #expect(result.outputIDs.count == 4)
        #expect(result.finishReason == .length)
    }

    @Test func scoringLeftTruncatesAndSaysSo() throws {
        let generator = try Generator(directory: Self.source)
        let limit = generator.model.config.maxPositionEmbeddings
        let context = String(repeating: "word ", count: limit * 2)
        let score = try generator.score(context: context, continuation: "end")
        #expect(score.truncatedTokens > 0)
        #expect(score.contextIDs.count + score.continuationIDs.count - 1 == limit)
    }

    @Test func invalidTokenIDIsRejected() throws {
        let generator = try Generator(directory: Self.source)
        let vocab = generator.model.config.vocabSize
        #expect(throws: ModelError.invalidTokenID(vocab, vocabularySize: vocab)) {
            try generator.generate(promptIDs: [[2, vocab]], parameters: GenerationParameters())
        }
    }

    @Test func invalidParametersAreRejected() throws {
        let generator = try Generator(directory: Self.source)
        var p = GenerationParameters()
        p.topP = 0
        #expect(throws: ModelError.self) { try generator.generate(prompt: "hi", parameters: p) }
    }
}
