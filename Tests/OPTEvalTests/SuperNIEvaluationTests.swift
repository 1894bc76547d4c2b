import Foundation
import OPTMetrics
import Testing
import OPTTokenizer
@testable import OPTEval

/// The expected.json of the end-to-end fixture as ordered (key, value) pairs.
private func expectedEntries() throws -> [(key: String, value: Double)] {
    let text = try String(contentsOf: Paths.fixtures.appendingPathComponent("e2e/expected.json"), encoding: .utf8)
    // One `"key": value` a line, as json.dump(indent=2) writes a flat dict of floats.
    return try text.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { line in
        let parts = line.trimmingCharacters(in: CharacterSet(charactersIn: " ,")).components(separatedBy: "\": ")
        try #require(parts.count == 2, "unexpected line \(line)")
        return (String(parts[0].dropFirst()), try #require(Double(parts[1])))
    }
}

private let e2eReferences = Paths.fixtures.appendingPathComponent("e2e/references.jsonl")
private let e2ePredictions = Paths.fixtures.appendingPathComponent("e2e/predictions.jsonl")

@Suite("Super-NI evaluation script, end to end")
struct SuperNIEndToEndTests {
    @Test(.enabled(if: Paths.hasGPT2, "../shared/data/gpt2-tokenizer is absent: skipping the end-to-end case with the xlingual track"))
    func bothTracksMatchTheScriptKeyByKey() throws {
        let tokenizer = try #require(Fixtures.gpt2)
        let report = try SuperNIEvaluation(crossLingualTokenizer: tokenizer)
            .evaluate(predictionsFile: e2ePredictions, referencesFile: e2eReferences)
        let expected = try expectedEntries()
        #expect(expected.count >= 30)
        #expect(report.keys == expected.map(\.key))
        for (key, value) in expected {
            let actual = try #require(report[key], "missing \(key)")
            #expect(abs(actual - value) < 0.5e-4, "\(key): \(actual) vs \(value)")
            #expect(actual == value, "\(key): \(actual) vs \(value) (not bit-identical)")
        }
        // The script's own output file, byte for byte.
        let file = try String(contentsOf: Paths.fixtures.appendingPathComponent("e2e/expected.json"), encoding: .utf8)
        #expect(report.json == file)
        // What the script prints about its input.
        #expect(report.unknownPredictions == [.string("not-a-reference")])
        #expect(report.missingPredictions.values.map(\.count).reduce(0, +) == 2)
        #expect(report.ignoredReferences.isEmpty)
        #expect(report.keys.contains("rougeL_for_question_answering_xlingual_track"))
    }

    @Test func defaultTrackWithoutTheTokenizer() throws {
        let folder = try temporaryFolder()
        let lines = try String(contentsOf: e2eReferences, encoding: .utf8).split(separator: "\n")
        let defaultOnly = lines.filter { !$0.contains("\"track\": \"xlingual\"") }.joined(separator: "\n") + "\n"
        let references = try writeFile(defaultOnly, "references.jsonl", in: folder)
        let report = try SuperNIEvaluation().evaluate(predictionsFile: e2ePredictions, referencesFile: references)
        let expected = try expectedEntries().filter { $0.key.hasSuffix("_default_track") }
        #expect(report.keys == expected.map(\.key))
        for (key, value) in expected {
            #expect(report[key] == value, "\(key)")
        }
        // The script would divide by zero on the empty xlingual track; here it is left out.
        #expect(!report.keys.contains { $0.contains("xlingual") })
    }
}

@Suite("Super-NI evaluation semantics and bad input")
struct SuperNIEvaluationTests {
    let evaluation = SuperNIEvaluation()

    func run(_ predictions: String, _ references: String, options: SuperNIEvaluation.Options = .init()) throws -> SuperNIEvaluation.Report {
        var evaluation = self.evaluation
        evaluation.options = options
        return try evaluation.evaluate(
            predictions: SuperNIEvaluation.readPredictions(Data(predictions.utf8), file: "p.jsonl"),
            references: SuperNIEvaluation.readReferences(Data(references.utf8), file: "r.jsonl"),
            predictionsFile: "p.jsonl", referencesFile: "r.jsonl")
    }

    @Test func pythonRounding() {
        #expect(SuperNIEvaluation.pythonRound(66.66666666666667, digits: 4) == 66.6667)
        #expect(SuperNIEvaluation.pythonRound(0.03125, digits: 4) == 0.0312)   // an exact tie: half to even
        #expect(SuperNIEvaluation.pythonRound(0.09375, digits: 4) == 0.0938)
        #expect(SuperNIEvaluation.pythonRound(2.675, digits: 2) == 2.67)       // 2.67499999… in binary
        #expect(SuperNIEvaluation.pythonRound(100, digits: 4) == 100)
        #expect(SuperNIEvaluation.pythonRound(1e-5, digits: 4) == 0)
    }

    @Test func categoryGroups() {
        #expect(SuperNIEvaluation.categoryGroup("Textual Entailment") == "textual_entailment")
        #expect(SuperNIEvaluation.categoryGroup("  Question \t Answering\n") == "question_answering")
        #expect(SuperNIEvaluation.categoryGroup("Misc.\u{A0}Stuff") == "misc._stuff")
    }

    @Test func computeMetricsDirectly() throws {
        let rouge = RougeL()
        let examples = [
            SuperNIEvaluation.Example(prediction: "The cat.", references: ["the cat"]),
            SuperNIEvaluation.Example(prediction: "a dog", references: ["cat", "the dog"]),
            SuperNIEvaluation.Example(prediction: "", references: [""]),
        ]
        let metrics = try #require(SuperNIEvaluation.computeMetrics(examples, rouge: rouge))
        // EM: 1, 0, 1 ("" == ""). ROUGE-L: 1, 0.5 ("a dog" vs "the dog"), 0 (no tokens).
        #expect(metrics == SuperNIEvaluation.Metrics(exactMatch: 66.6667, rougeL: 50))
        #expect(SuperNIEvaluation.computeMetrics([], rouge: rouge) == nil)
        let grouped = SuperNIEvaluation.computeGroupedMetrics(examples, groups: ["b", "a", "b"], rouge: rouge)
        #expect(grouped.map(\.group) == ["b", "a"])
        #expect(grouped[0].metrics == SuperNIEvaluation.Metrics(exactMatch: 100, rougeL: 50))
    }

    @Test func scriptLeniencyIsTheDefault() throws {
        let references = """
        {"id": "a", "references": ["yes"], "task_id": "t1", "task_category": "Cat One"}
        {"id": 7, "references": ["no"], "task_id": "t1", "task_category": "Cat One", "track": "default"}
        {"id": "c", "references": ["maybe"], "track": "other"}
        {"id": "7", "references": ["seven"], "task_id": "t2", "task_category": "cat   one"}

        """
        let predictions = """
        {"id": "a", "prediction": "Yes!"}
        {"id": "zzz", "prediction": "unknown"}
        {"id": "7", "prediction": "seven"}
        """
        let report = try run(predictions, references)
        // Integer 7 and string "7" are different ids; 7 has no prediction and scores "".
        #expect(report.missingPredictions[.default] == [.integer(7)])
        #expect(report.unknownPredictions == [.string("zzz")])
        #expect(report.ignoredReferences == [.string("c")])
        #expect(report.keys == [
            "exact_match_default_track", "rougeL_default_track",
            "exact_match_for_cat_one_default_track", "rougeL_for_cat_one_default_track",
            "exact_match_for_t1_default_track", "rougeL_for_t1_default_track",
            "exact_match_for_t2_default_track", "rougeL_for_t2_default_track",
        ])
        #expect(report["exact_match_default_track"] == 66.6667)
        #expect(report["exact_match_for_t1_default_track"] == 50)
        #expect(report["rougeL_for_t2_default_track"] == 100)
    }

    @Test func strictOptions() throws {
        let references = "{\"id\": \"a\", \"references\": [\"x\"]}\n{\"id\": \"b\", \"references\": [\"y\"]}\n"
        let predictions = "{\"id\": \"a\", \"prediction\": \"x\"}\n{\"id\": \"q\", \"prediction\": \"y\"}\n"
        #expect(throws: SuperNIEvaluationError.unknownPrediction(file: "p.jsonl", line: 2, id: "\"q\"")) {
            try run(predictions, references, options: .init(unknownPredictions: .fail))
        }
        #expect(throws: SuperNIEvaluationError.missingPrediction(file: "r.jsonl", line: 2, id: "\"b\"")) {
            try run(predictions, references, options: .init(missingPredictions: .fail))
        }
        let report = try run(predictions, references)
        #expect(report["exact_match_default_track"] == 50)
    }

    @Test func groupingFollowsTheFirstReferenceOfTheTrack() throws {
        // The first reference has no category: no per-category keys even though later ones do.
        let noFirst = """
        {"id": "a", "references": ["x"]}
        {"id": "b", "references": ["y"], "task_category": "C"}
        """
        #expect(try run("{\"id\": \"a\", \"prediction\": \"x\"}", noFirst).keys == ["exact_match_default_track", "rougeL_default_track"])
        // The first has one, a later one lacks it: the script's KeyError, with the line.
        let laterMissing = """
        {"id": "a", "references": ["x"], "task_category": "C"}
        {"id": "b", "references": ["y"]}
        """
        #expect(throws: SuperNIEvaluationError.missingField(file: "r.jsonl", line: 2, field: "task_category")) {
            try run("", laterMissing)
        }
        let laterNoTask = """
        {"id": "a", "references": ["x"], "task_id": "t"}
        {"id": "b", "references": ["y"]}
        """
        #expect(throws: SuperNIEvaluationError.missingField(file: "r.jsonl", line: 2, field: "task_id")) {
            try run("", laterNoTask)
        }
    }

    @Test func xlingualNeedsATokenizer() {
        let references = "{\"id\": \"a\", \"references\": [\"x\"]}\n{\"id\": \"b\", \"references\": [\"日本\"], \"track\": \"xlingual\"}\n"
        #expect(throws: SuperNIEvaluationError.noCrossLingualTokenizer(file: "r.jsonl", line: 2)) {
            try run("", references)
        }
    }

    @Test func lineEndings() throws {
        let references = "{\"id\": \"a\", \"references\": [\"x\"]}\r\n{\"id\": \"b\", \"references\": [\"y\"]}\r{\"id\": \"c\", \"references\": [\"z\"]}"
        let parsed = try SuperNIEvaluation.readReferences(Data(references.utf8), file: "r.jsonl")
        #expect(parsed.map(\.line) == [1, 2, 3])
        #expect(parsed.map(\.id) == [.string("a"), .string("b"), .string("c")])
        #expect(try SuperNIEvaluation.readReferences(Data(), file: "r.jsonl").isEmpty)
        #expect(try run("", "").keys.isEmpty)
        #expect(try run("", "").json == "{}")
    }

    /// Each malformed references line, with the error it must give.
    static let badReferences: [(String, SuperNIEvaluationError)] = [
        ("{\"references\": [\"x\"]}", .missingField(file: "r.jsonl", line: 2, field: "id")),
        ("{\"id\": \"b\"}", .missingField(file: "r.jsonl", line: 2, field: "references")),
        ("{\"id\": \"b\", \"references\": \"x\"}", .invalidField(file: "r.jsonl", line: 2, field: "references", reason: "is a string, not a list of strings")),
        ("{\"id\": \"b\", \"references\": []}", .invalidField(file: "r.jsonl", line: 2, field: "references", reason: "is empty (the maximum over no references is undefined)")),
        ("{\"id\": \"b\", \"references\": [\"x\", 3]}", .invalidField(file: "r.jsonl", line: 2, field: "references", reason: "holds a number, not only strings")),
        ("{\"id\": true, \"references\": [\"x\"]}", .invalidField(file: "r.jsonl", line: 2, field: "id", reason: "is a boolean, not a string or an integer")),
        ("{\"id\": 1.5, \"references\": [\"x\"]}", .invalidField(file: "r.jsonl", line: 2, field: "id", reason: "is a number, not a string or an integer")),
        ("{\"id\": \"b\", \"references\": [\"x\"], \"task_category\": null}", .invalidField(file: "r.jsonl", line: 2, field: "task_category", reason: "is null, not a string")),
        ("{\"id\": \"b\", \"references\": [\"x\"], \"task_id\": 12}", .invalidField(file: "r.jsonl", line: 2, field: "task_id", reason: "is a number, not a string")),
    ]

    @Test(arguments: 0..<badReferences.count)
    func badReferenceLines(_ index: Int) throws {
        let (line, error) = Self.badReferences[index]
        let text = "{\"id\": \"a\", \"references\": [\"x\"]}\n" + line + "\n"
        #expect(throws: error) { try SuperNIEvaluation.readReferences(Data(text.utf8), file: "r.jsonl") }
        #expect(error.description.hasPrefix("r.jsonl:2: "))
    }

    @Test func badPredictionLines() throws {
        let good = "{\"id\": \"a\", \"prediction\": \"x\"}\n"
        #expect(throws: SuperNIEvaluationError.missingField(file: "p.jsonl", line: 2, field: "prediction")) {
            try SuperNIEvaluation.readPredictions(Data((good + "{\"id\": \"b\"}\n").utf8), file: "p.jsonl")
        }
        #expect(throws: SuperNIEvaluationError.missingField(file: "p.jsonl", line: 3, field: "id")) {
            try SuperNIEvaluation.readPredictions(Data((good + good + "{\"prediction\": \"b\"}").utf8), file: "p.jsonl")
        }
        #expect(throws: SuperNIEvaluationError.invalidField(file: "p.jsonl", line: 2, field: "prediction", reason: "is null, not a string")) {
            try SuperNIEvaluation.readPredictions(Data((good + "{\"id\": \"b\", \"prediction\": null}").utf8), file: "p.jsonl")
        }
    }

    @Test(arguments: [
        "{\"id\": \"b\", \"prediction\": ",   // truncated
        "[1, 2]",                              // not an object
        "\"just a string\"",
        "",                                    // a blank line (json.loads rejects it)
        "   \t",
        "{\"id\": \"b\"} trailing",
    ])
    func malformedLines(_ line: String) throws {
        let text = "{\"id\": \"a\", \"prediction\": \"x\"}\n" + line + "\n{\"id\": \"c\", \"prediction\": \"z\"}\n"
        do {
            _ = try SuperNIEvaluation.readPredictions(Data(text.utf8), file: "p.jsonl")
            Issue.record("no error for \(line.debugDescription)")
        } catch let error as SuperNIEvaluationError {
            guard case .malformedJSON(file: "p.jsonl", line: 2, reason: _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(error.description.hasPrefix("p.jsonl:2: "))
        }
    }

    @Test func invalidUTF8AndByteOrderMark() throws {
        var bytes = Array("{\"id\": \"a\", \"prediction\": \"x\"}\n{\"id\": \"b\", \"prediction\": \"".utf8)
        bytes += [0xC3, 0x28] + Array("\"}\n".utf8)
        #expect(throws: SuperNIEvaluationError.invalidUTF8(file: "p.jsonl", line: 2)) {
            try SuperNIEvaluation.readPredictions(Data(bytes), file: "p.jsonl")
        }
        let bom = Data([0xEF, 0xBB, 0xBF] + Array("{\"id\": \"a\", \"prediction\": \"x\"}\n".utf8))
        #expect(throws: SuperNIEvaluationError.malformedJSON(file: "p.jsonl", line: 1, reason: "unexpected UTF-8 byte order mark")) {
            try SuperNIEvaluation.readPredictions(bom, file: "p.jsonl")
        }
    }

    @Test func filesNameThemselvesInErrors() throws {
        let folder = try temporaryFolder()
        let references = try writeFile("{\"id\": \"a\", \"references\": [\"x\"]}\n", "r.jsonl", in: folder)
        let predictions = try writeFile("{\"id\": \"a\", \"prediction\": \"x\"}\n{oops}\n", "p.jsonl", in: folder)
        do {
            _ = try evaluation.evaluate(predictionsFile: predictions, referencesFile: references)
            Issue.record("no error")
        } catch let error as SuperNIEvaluationError {
            #expect(error.description.hasPrefix("\(predictions.path):2: "))
        }
        let absent = folder.appendingPathComponent("absent.jsonl")
        do {
            _ = try evaluation.evaluate(predictionsFile: predictions, referencesFile: absent)
            Issue.record("no error")
        } catch let error as SuperNIEvaluationError {
            guard case .unreadableFile(path: absent.path, reason: _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }

    @Test func jsonOutputEscapesLikePython() throws {
        let references = "{\"id\": \"a\", \"references\": [\"x\"], \"task_id\": \"t\\\"é😀\"}\n"
        let report = try run("{\"id\": \"a\", \"prediction\": \"x\"}", references)
        #expect(report.json == """
        {
          "exact_match_default_track": 100.0,
          "rougeL_default_track": 100.0,
          "exact_match_for_t\\"\\u00e9\\ud83d\\ude00_default_track": 100.0,
          "rougeL_for_t\\"\\u00e9\\ud83d\\ude00_default_track": 100.0
        }
        """)
    }
}
