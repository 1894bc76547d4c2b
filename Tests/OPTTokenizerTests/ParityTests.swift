import Foundation
import Testing
@testable import OPTTokenizer

/// Ids and text identical to Hugging Face for the trained OPT-style tokenizer, whichever files
/// it is loaded from.
@Suite struct TrainedTokenizerParityTests {
    let file: CaseFile

    init() throws {
        file = try Fixtures.decode(CaseFile.self, "trained_cases.json")
    }

    private func expectIDs(_ tokenizer: BPETokenizer, route: String) {
        for item in file.cases {
            let ids = tokenizer.encode(item.text)
            #expect(ids == item.ids, "\(route): \(item.text.debugDescription)")
            if let noBOS = item.idsNoBos {
                #expect(tokenizer.encode(item.text, addBOS: false) == noBOS, "\(route) without BOS: \(item.text.debugDescription)")
                #expect(tokenizer.encode(item.text, addBOS: true) == item.ids, "\(route) with BOS: \(item.text.debugDescription)")
            }
        }
    }

    @Test func hasEnoughCases() {
        #expect(file.cases.count >= 100)
    }

    @Test func tokenizerJSONRoute() throws {
        let tokenizer = try BPETokenizer.load(directory: Fixtures.trainedDirectory())
        expectIDs(tokenizer, route: "tokenizer.json")
    }

    @Test func vocabAndMergesRoute() throws {
        let directory = try Fixtures.copy(["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"],
                                          from: Fixtures.trainedDirectory())
        defer { try? FileManager.default.removeItem(at: directory) }
        expectIDs(try BPETokenizer.load(directory: directory), route: "vocab.json + merges.txt")
    }

    @Test func vocabAndMergesWithSpecialTokensMapOnly() throws {
        // Without added_tokens_decoder in tokenizer_config.json, transformers takes the special
        // tokens from special_tokens_map.json; here those are the same four tokens' roles.
        let directory = try Fixtures.copy(["vocab.json", "merges.txt", "special_tokens_map.json"], from: Fixtures.trainedDirectory())
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenizer = try BPETokenizer.load(directory: directory)
        #expect(tokenizer.bosTokenID == 2)
        #expect(tokenizer.padTokenID == 1)
        #expect(tokenizer.unkTokenID == 3)
        // No add_bos_token anywhere: no BOS by default.
        #expect(tokenizer.encode("Hello world") == file.cases.first { $0.text == "Hello world" }?.idsNoBos)
    }

    @Test func tokenizerJSONWithStringMerges() throws {
        // Older `tokenizers` versions store merges as "a b" strings rather than pairs.
        let source = try Fixtures.trainedDirectory()
        let directory = try Fixtures.copy(["tokenizer_config.json", "special_tokens_map.json"], from: source)
        defer { try? FileManager.default.removeItem(at: directory) }
        var root = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("tokenizer.json"))) as? [String: Any])
        var model = try #require(root["model"] as? [String: Any])
        let pairs = try #require(model["merges"] as? [[String]])
        model["merges"] = pairs.map { $0.joined(separator: " ") }
        root["model"] = model
        try JSONSerialization.data(withJSONObject: root).write(to: directory.appendingPathComponent("tokenizer.json"))
        expectIDs(try BPETokenizer.load(directory: directory), route: "tokenizer.json with string merges")
    }

    @Test func tokenizerJSONWithoutConfigsUsesItsPostProcessor() throws {
        let directory = try Fixtures.copy(["tokenizer.json"], from: Fixtures.trainedDirectory())
        defer { try? FileManager.default.removeItem(at: directory) }
        expectIDs(try BPETokenizer.load(directory: directory), route: "tokenizer.json alone")
    }

    @Test func memberwiseInitializer() throws {
        let directory = try Fixtures.trainedDirectory()
        let vocabObject = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("vocab.json")))
        let vocab = try #require(vocabObject as? [String: Int])
        let lines = try String(contentsOf: directory.appendingPathComponent("merges.txt"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        let merges = lines.map { line -> (String, String) in
            let parts = line.split(separator: " ")
            return (String(parts[0]), String(parts[1]))
        }
        let tokenizer = try BPETokenizer(vocab: vocab, merges: merges, addedTokens: ["<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3],
                                         bosToken: "</s>", eosToken: "</s>", padToken: "<pad>", unkToken: "<unk>", addBOS: true)
        expectIDs(tokenizer, route: "init(vocab:merges:...)")
        #expect(tokenizer.vocabularySize == file.vocabSize)
    }

    @Test func decodeMatches() throws {
        let tokenizer = try BPETokenizer.load(directory: Fixtures.trainedDirectory())
        for item in file.cases {
            if let decoded = item.decoded {
                #expect(sameScalars(tokenizer.decode(item.ids), decoded), "\(item.text.debugDescription)")
            }
            if let skipped = item.decodedSkipSpecial {
                #expect(sameScalars(tokenizer.decode(item.ids, skipSpecialTokens: true), skipped), "\(item.text.debugDescription)")
            }
        }
    }

    @Test func decodeRoundTrip() throws {
        let tokenizer = try BPETokenizer.load(directory: Fixtures.trainedDirectory())
        for item in file.cases {
            let ids = tokenizer.encode(item.text, addBOS: false)
            #expect(sameScalars(tokenizer.decode(ids), item.text), "\(item.text.debugDescription)")
        }
    }

    @Test func decodeCasesMatch() throws {
        let tokenizer = try BPETokenizer.load(directory: Fixtures.trainedDirectory())
        let cases = try #require(file.decodeCases)
        #expect(cases.count > 40)
        for item in cases {
            #expect(sameScalars(tokenizer.decode(item.ids), item.text), "\(item.ids)")
            if let skipped = item.textSkipSpecial {
                #expect(sameScalars(tokenizer.decode(item.ids, skipSpecialTokens: true), skipped), "\(item.ids)")
            }
        }
    }

    @Test func cleanUpTokenizationSpaces() throws {
        let tokenizer = try BPETokenizer.load(directory: Fixtures.trainedDirectory())
        for item in try #require(file.cleanupCases) {
            #expect(sameScalars(tokenizer.decode(item.ids, cleanUpTokenizationSpaces: true), item.text))
        }
    }

    @Test func specialTokens() throws {
        let tokenizer = try BPETokenizer.load(directory: Fixtures.trainedDirectory())
        #expect(tokenizer.bosTokenID == file.bosId)
        #expect(tokenizer.eosTokenID == file.eosId)
        #expect(tokenizer.padTokenID == file.padId)
        #expect(tokenizer.unkTokenID == file.unkId)
        #expect(tokenizer.vocabularySize == file.vocabSize)
        for (id, token) in ["<s>", "<pad>", "</s>", "<unk>"].enumerated() {
            #expect(tokenizer.id(forToken: token) == id)
            #expect(tokenizer.token(forID: id) == token)
            #expect(tokenizer.isSpecial(id))
            #expect(tokenizer.encode(token, addBOS: false) == [id])
        }
        #expect(!tokenizer.isSpecial(4))
        #expect(!tokenizer.isSpecial(-1))
        #expect(!tokenizer.isSpecial(1_000_000))
        #expect(tokenizer.token(forID: -1) == nil)
        #expect(tokenizer.token(forID: tokenizer.vocabularySize) == nil)
        #expect(tokenizer.id(forToken: "no such token") == nil)
        #expect(tokenizer.encode("") == [2])
        #expect(tokenizer.encode("", addBOS: false) == [])
        #expect(tokenizer.encode("a</s>b", addBOS: false).contains(2))
        #expect(tokenizer.decode([2, 1, 0, 3], skipSpecialTokens: true) == "")
        #expect(tokenizer.decode([2, 1, 0, 3]) == "</s><pad><s><unk>")
        // Unknown ids are ignored, as Hugging Face's decode does.
        #expect(tokenizer.decode([-5, 99_999]) == "")
    }

    @Test func concurrentEncodingIsConsistent() async throws {
        let tokenizer = try BPETokenizer.load(directory: Fixtures.trainedDirectory())
        let cases = file.cases
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var bad = 0
                    for (index, item) in cases.enumerated() where index % 8 == worker || worker == 0 {
                        if tokenizer.encode(item.text) != item.ids { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}

/// The same vocabulary with other configuration files.
@Suite struct VariantParityTests {
    struct Variant: Decodable {
        var bosId: Int?
        var eosId: Int?
        var padId: Int?
        var unkId: Int?
        var vocabSize: Int
        var cases: [EncodeCase]
    }

    let variants: [String: Variant]

    init() throws {
        variants = try Fixtures.decode([String: Variant].self, "variant_cases.json")
    }

    /// facebook/opt-125m's own config files: only `</s>` and `<pad>` are special there (unk is
    /// `</s>`), so a literal `<s>` or `<unk>` in text is ordinary text.
    @Test func optConfigFiles() throws {
        let variant = try #require(variants["trained-optconfig"])
        let tokenizer = try BPETokenizer.load(directory: Fixtures.tokenizerFolder().appendingPathComponent("trained-optconfig"))
        #expect(tokenizer.bosTokenID == variant.bosId)
        #expect(tokenizer.eosTokenID == variant.eosId)
        #expect(tokenizer.padTokenID == variant.padId)
        #expect(tokenizer.unkTokenID == variant.unkId)
        #expect(tokenizer.vocabularySize == variant.vocabSize)
        for item in variant.cases {
            #expect(tokenizer.encode(item.text) == item.ids, "\(item.text.debugDescription)")
            if let skipped = item.decodedSkipSpecial {
                #expect(sameScalars(tokenizer.decode(item.ids, skipSpecialTokens: true), skipped), "\(item.text.debugDescription)")
            }
        }
    }

    /// Added tokens with lstrip, rstrip, single_word, non-special and non-byte-level content.
    @Test func addedTokenOptions() throws {
        let variant = try #require(variants["trained-options"])
        let tokenizer = try BPETokenizer.load(directory: Fixtures.tokenizerFolder().appendingPathComponent("trained-options"))
        #expect(tokenizer.vocabularySize == variant.vocabSize)
        for item in variant.cases {
            #expect(tokenizer.encode(item.text) == item.ids, "\(item.text.debugDescription)")
            if let decoded = item.decoded {
                #expect(sameScalars(tokenizer.decode(item.ids), decoded), "\(item.text.debugDescription)")
            }
            if let skipped = item.decodedSkipSpecial {
                #expect(sameScalars(tokenizer.decode(item.ids, skipSpecialTokens: true), skipped), "\(item.text.debugDescription)")
            }
        }
        let mask = try #require(tokenizer.id(forToken: "<mask>"))
        let word = try #require(tokenizer.id(forToken: "wor"))
        #expect(tokenizer.isSpecial(mask))
        #expect(!tokenizer.isSpecial(word))
    }
}

/// The real 50k GPT-2 vocabulary from ../shared/data/gpt2-tokenizer (skipped, with a message, when absent).
@Suite(.enabled(if: Fixtures.hasGPT2Vocabulary, "needs ../shared/data/gpt2-tokenizer/vocab.json"))
struct GPT2VocabularyParityTests {
    private func load() throws -> (BPETokenizer, CaseFile) {
        (try BPETokenizer.load(directory: try Fixtures.gpt2Directory()), try Fixtures.decode(CaseFile.self, "gpt2_cases.json"))
    }

    @Test func idsMatch() throws {
        let (tokenizer, file) = try load()
        #expect(tokenizer.vocabularySize == file.vocabSize)
        #expect(tokenizer.bosTokenID == nil)
        #expect(file.cases.count >= 100)
        for item in file.cases {
            // Plain GPT-2 files carry no add_bos_token, so nothing is prepended by default.
            #expect(tokenizer.encode(item.text) == item.ids, "\(item.text.debugDescription)")
            if let decoded = item.decoded {
                #expect(sameScalars(tokenizer.decode(item.ids), decoded), "\(item.text.debugDescription)")
            }
        }
    }

    @Test func decodeCasesMatch() throws {
        let (tokenizer, file) = try load()
        for item in file.decodeCases ?? [] {
            #expect(sameScalars(tokenizer.decode(item.ids), item.text), "\(item.ids)")
        }
    }

    @Test func knownEncodings() throws {
        let (tokenizer, _) = try load()
        // The examples in transformers' GPT2Tokenizer docstring.
        #expect(tokenizer.encode("Hello world") == [15496, 995])
        #expect(tokenizer.encode(" Hello world") == [18435, 995])
        #expect(tokenizer.token(forID: 995) == "\u{120}world")
    }
}

/// How the pre-tokenizer classifies every code point, against Oniguruma inside `tokenizers`.
@Test func characterClassesMatchOniguruma() throws {
    let file = try Fixtures.decode(UnicodeClassFile.self, "unicode_classes.json")
    var mismatches: [String] = []
    var checked = 0
    for run in file.runs {
        guard run.count == 3, case .number(let first) = run[0], case .number(let last) = run[1], case .name(let name) = run[2] else {
            Issue.record("bad run \(run)")
            continue
        }
        let expected: CharacterClass
        switch name {
        case "L": expected = .letter
        case "N": expected = .number
        case "S": expected = .whitespace
        default: expected = .other
        }
        for value in first...last {
            guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
            checked += 1
            if CharacterClass.of(scalar) != expected, mismatches.count < 20 {
                mismatches.append("U+\(String(value, radix: 16, uppercase: true)) expected \(name)")
            }
        }
    }
    #expect(checked == 0x110000 - 0x800)
    #expect(mismatches.isEmpty, "\(mismatches)")
}
