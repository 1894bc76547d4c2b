import Foundation
import Testing
@testable import OPTBench

/// Every bad input is refused with the specific `BenchError` naming the file and the key at fault.
@Suite("Bad inputs")
struct BadInputTests {
    /// The error's one-line description names the file and every given word (a key, a line).
    static func expectNames(_ error: BenchError, _ file: URL, _ words: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        let text = error.description
        #expect(text.contains(file.lastPathComponent), "\(text) does not name \(file.lastPathComponent)", sourceLocation: sourceLocation)
        for word in words {
            #expect(text.contains(word), "\(text) does not mention \(word)", sourceLocation: sourceLocation)
        }
    }

    /// A Super-NI task file `task900_bad.json` with `text`, and the error reading it.
    static func niv2Error(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (BenchError, URL) {
        let folder = try temporaryFolder("niv2bad")
        let url = try writeFile(text, "task900_bad.json", in: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = try #require(throws: BenchError.self, sourceLocation: sourceLocation) { try NIV2Source.task(file: url) }
        return (error, url)
    }

    static func instancesFile(_ instances: String) -> String {
        #"{"Definition": ["Do it."], "Categories": ["Misc."], "Instances": \#(instances)}"#
    }

    // MARK: - Super-NI task JSON

    @Test("not JSON at all → malformedFile")
    func notJSON() throws {
        let (error, url) = try Self.niv2Error("this is { not json")
        guard case let .malformedFile(path, line, _) = error else {
            Issue.record("expected malformedFile, got \(error)")
            return
        }
        #expect(path == url.path)
        #expect(line == nil)
        Self.expectNames(error, url, "malformed")
    }

    @Test("a top-level list → wrongType for the file")
    func topLevelList() throws {
        let (error, url) = try Self.niv2Error(#"[{"Definition": "x", "Instances": []}]"#)
        #expect(error == .wrongType(path: url.path, key: "the file", expected: "a JSON object"))
        Self.expectNames(error, url, "the file")
    }

    @Test("missing Definition → missingKey Definition")
    func missingDefinition() throws {
        let (error, url) = try Self.niv2Error(#"{"Instances": [{"input": "a", "output": ["b"]}]}"#)
        #expect(error == .missingKey(path: url.path, key: "Definition"))
        Self.expectNames(error, url, "Definition")
    }

    @Test("a null Definition counts as missing")
    func nullDefinition() throws {
        let (error, url) = try Self.niv2Error(#"{"Definition": null, "Instances": []}"#)
        #expect(error == .missingKey(path: url.path, key: "Definition"))
    }

    @Test("a Definition of only whitespace (or no strings) → wrongType Definition")
    func blankDefinition() throws {
        for definition in [#"" \n\t ""#, #"["  ", ""]"#, "[]"] {
            let (error, url) = try Self.niv2Error(#"{"Definition": \#(definition), "Instances": [{"input": "a", "output": ["b"]}]}"#)
            #expect(error == .wrongType(path: url.path, key: "Definition", expected: "a non-empty string or list of strings"),
                    "Definition \(definition)")
            Self.expectNames(error, url, "Definition")
        }
    }

    @Test("a Definition list holding a number → wrongType Definition")
    func definitionNumber() throws {
        let (error, url) = try Self.niv2Error(#"{"Definition": ["ok", 3], "Instances": []}"#)
        #expect(error == .wrongType(path: url.path, key: "Definition", expected: "a string or a list of strings"))
    }

    @Test("missing Instances → missingKey Instances")
    func missingInstances() throws {
        let (error, url) = try Self.niv2Error(#"{"Definition": "Do it."}"#)
        #expect(error == .missingKey(path: url.path, key: "Instances"))
        Self.expectNames(error, url, "Instances")
    }

    @Test("Instances not a list → wrongType Instances")
    func instancesNotList() throws {
        let (error, url) = try Self.niv2Error(#"{"Definition": "Do it.", "Instances": {"input": "a", "output": ["b"]}}"#)
        #expect(error == .wrongType(path: url.path, key: "Instances", expected: "a list"))
        Self.expectNames(error, url, "Instances")
    }

    @Test("an instance that is not an object → wrongType Instances[i]")
    func instanceNotObject() throws {
        let (error, url) = try Self.niv2Error(Self.instancesFile(#"[{"input": "a", "output": ["b"]}, "just text"]"#))
        #expect(error == .wrongType(path: url.path, key: "Instances[1]", expected: "a JSON object"))
    }

    @Test("an instance without input → missingKey Instances[i].input")
    func instanceWithoutInput() throws {
        let (error, url) = try Self.niv2Error(Self.instancesFile(#"[{"id": "a", "input": "x", "output": ["y"]}, {"id": "b", "output": ["y"]}]"#))
        #expect(error == .missingKey(path: url.path, key: "Instances[1].input"))
        Self.expectNames(error, url, "Instances[1].input")
    }

    @Test("input a number → wrongType Instances[i].input")
    func inputNumber() throws {
        let (error, url) = try Self.niv2Error(Self.instancesFile(#"[{"id": "a", "input": 42, "output": ["y"]}]"#))
        #expect(error == .wrongType(path: url.path, key: "Instances[0].input", expected: "a string"))
        Self.expectNames(error, url, "Instances[0].input")
    }

    @Test("output a number, or a list holding one → wrongType Instances[i].output")
    func outputNumber() throws {
        for output in ["7", "[7]", #"["ok", 7]"#, #"{"text": "y"}"#] {
            let (error, url) = try Self.niv2Error(Self.instancesFile(#"[{"id": "a", "input": "x", "output": \#(output)}]"#))
            #expect(error == .wrongType(path: url.path, key: "Instances[0].output", expected: "a string or a list of strings"),
                    "output \(output)")
            Self.expectNames(error, url, "Instances[0].output")
        }
    }

    @Test("an instance without output → missingKey Instances[i].output")
    func missingOutput() throws {
        let (error, url) = try Self.niv2Error(Self.instancesFile(#"[{"id": "a", "input": "x"}]"#))
        #expect(error == .missingKey(path: url.path, key: "Instances[0].output"))
    }

    @Test("outputs [], [\"\"], [\"  \"], \"\" or [null] → emptyOutputs naming the instance")
    func emptyOutputs() throws {
        for output in ["[]", #"[""]"#, #"["  "]"#, #""""#, #"["", " \n"]"#, "[null]"] {
            let (error, url) = try Self.niv2Error(Self.instancesFile(#"[{"id": "ok", "input": "x", "output": ["y"]}, {"id": "empty-one", "input": "x", "output": \#(output)}]"#))
            #expect(error == .emptyOutputs(path: url.path, instance: "instance empty-one"), "output \(output)")
            Self.expectNames(error, url, "empty-one")
        }
    }

    @Test("duplicate instance ids → duplicateInstanceID")
    func duplicateInstanceIDs() throws {
        let (error, url) = try Self.niv2Error(Self.instancesFile(
            #"[{"id": "same", "input": "a", "output": ["1"]}, {"id": "other", "input": "b", "output": ["2"]}, {"id": "same", "input": "c", "output": ["3"]}]"#))
        #expect(error == .duplicateInstanceID(path: url.path, id: "same"))
        Self.expectNames(error, url, "same")
    }

    @Test("an explicit id equal to a default one is a duplicate too")
    func explicitIDClashesWithDefault() throws {
        let (error, url) = try Self.niv2Error(Self.instancesFile(
            #"[{"input": "a", "output": ["1"]}, {"id": "task900_bad-0", "input": "b", "output": ["2"]}]"#))
        #expect(error == .duplicateInstanceID(path: url.path, id: "task900_bad-0"))
    }

    @Test("a positive example without output → missingKey Positive Examples[i].output")
    func exampleWithoutOutput() throws {
        let (error, url) = try Self.niv2Error(#"""
        {"Definition": "Do it.", "Positive Examples": [{"input": "a", "output": "b"}, {"input": "c", "explanation": "d"}],
         "Instances": [{"input": "a", "output": ["b"]}]}
        """#)
        #expect(error == .missingKey(path: url.path, key: "Positive Examples[1].output"))
        Self.expectNames(error, url, "Positive Examples[1].output")
    }

    @Test("a negative example whose input is a number → wrongType Negative Examples[i].input")
    func exampleInputNumber() throws {
        let (error, url) = try Self.niv2Error(#"""
        {"Definition": "Do it.", "Negative Examples": [{"input": 1, "output": "b"}], "Instances": [{"input": "a", "output": ["b"]}]}
        """#)
        #expect(error == .wrongType(path: url.path, key: "Negative Examples[0].input", expected: "a string"))
    }

    @Test("an unreadable task file → unreadableFile")
    func unreadableTaskFile() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("task901_missing.json")
        let error = try #require(throws: BenchError.self) { try NIV2Source.task(file: url) }
        guard case let .unreadableFile(path, _) = error else {
            Issue.record("expected unreadableFile, got \(error)")
            return
        }
        #expect(path == url.path)
    }

    @Test("a bad task inside a folder stops the load with that file's error")
    func badTaskInFolder() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeFile(Self.instancesFile(#"[{"input": "a", "output": ["b"]}]"#), "task001_good.json", in: folder)
        let bad = try writeFile(#"{"Instances": []}"#, "task002_bad.json", in: folder)
        let error = try #require(throws: BenchError.self) { try NIV2Source.load(directory: folder) }
        #expect(error == .missingKey(path: bad.path, key: "Definition"))
    }

    // MARK: - JSONL

    static let header = #"{"task": {"benchmark": "flan", "categories": ["Misc."], "definition": "Do it."}}"#

    static func jsonlError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (BenchError, URL) {
        let folder = try temporaryFolder("jsonlbad")
        let url = try writeFile(text, "bad_task.jsonl", in: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = try #require(throws: BenchError.self, sourceLocation: sourceLocation) { try JSONLSource.task(file: url) }
        return (error, url)
    }

    @Test("an empty JSONL file (or only blank lines) → malformedFile")
    func emptyJSONL() throws {
        for text in ["", "\n\n  \n\t\n"] {
            let (error, url) = try Self.jsonlError(text)
            #expect(error == .malformedFile(path: url.path, line: nil, reason: "the file is empty"))
            Self.expectNames(error, url, "empty")
        }
    }

    @Test("a first line without \"task\" → missingKey task")
    func jsonlNoTask() throws {
        let (error, url) = try Self.jsonlError(#"{"id": "1", "input": "x", "outputs": ["y"]}"# + "\n")
        #expect(error == .missingKey(path: url.path, key: "task (line 1)"))
        Self.expectNames(error, url, "task")
    }

    @Test("a first line that is not an object → wrongType")
    func jsonlHeaderList() throws {
        let (error, url) = try Self.jsonlError("[1, 2]\n")
        #expect(error == .wrongType(path: url.path, key: "line 1", expected: "a JSON object"))
    }

    @Test("\"task\" that is not an object → wrongType task")
    func jsonlTaskNotObject() throws {
        let (error, url) = try Self.jsonlError(#"{"task": "flan"}"# + "\n")
        #expect(error == .wrongType(path: url.path, key: "task", expected: "a JSON object"))
    }

    @Test("bad JSON on line 3 → malformedFile at line 3")
    func jsonlBadLine() throws {
        let text = Self.header + "\n" + #"{"id": "1", "input": "x", "outputs": ["y"]}"# + "\n" + #"{"id": "2", "input": "x", "#
            + "\n" + #"{"id": "3", "input": "x", "outputs": ["y"]}"# + "\n"
        let (error, url) = try Self.jsonlError(text)
        guard case let .malformedFile(path, line, _) = error else {
            Issue.record("expected malformedFile, got \(error)")
            return
        }
        #expect(path == url.path)
        #expect(line == 3)
        Self.expectNames(error, url, "line 3")
    }

    @Test("line numbers count blank lines: bad JSON after a blank line is reported at its own line")
    func jsonlBadLineAfterBlank() throws {
        let text = Self.header + "\n\n" + #"{"id": "1", "input": "x", "outputs": ["y"]}"# + "\n\n" + "{oops}\n"
        let (error, _) = try Self.jsonlError(text)
        guard case let .malformedFile(_, line, _) = error else {
            Issue.record("expected malformedFile, got \(error)")
            return
        }
        #expect(line == 5)
    }

    @Test("instruction_level \"sometimes\" → wrongType task.instruction_level")
    func jsonlInstructionLevel() throws {
        let (error, url) = try Self.jsonlError(
            #"{"task": {"benchmark": "flan", "categories": ["Misc."], "definition": "x", "instruction_level": "sometimes"}}"# + "\n")
        #expect(error == .wrongType(path: url.path, key: "task.instruction_level", expected: #""task" or "instance""#))
        Self.expectNames(error, url, "instruction_level")
    }

    @Test("missing benchmark → missingKey benchmark")
    func jsonlMissingBenchmark() throws {
        let (error, url) = try Self.jsonlError(#"{"task": {"categories": ["Misc."], "definition": "x"}}"# + "\n"
            + #"{"id": "1", "input": "x", "outputs": ["y"]}"# + "\n")
        #expect(error == .missingKey(path: url.path, key: "benchmark"))
        Self.expectNames(error, url, "benchmark")
    }

    @Test("missing categories → missingKey categories")
    func jsonlMissingCategories() throws {
        let (error, url) = try Self.jsonlError(#"{"task": {"benchmark": "flan", "definition": "x"}}"# + "\n")
        #expect(error == .missingKey(path: url.path, key: "categories"))
        Self.expectNames(error, url, "categories")
    }

    @Test("a task-level file without definition → missingKey definition; instance-level needs none")
    func jsonlMissingDefinition() throws {
        let (error, url) = try Self.jsonlError(#"{"task": {"benchmark": "flan", "categories": ["Misc."]}}"# + "\n")
        #expect(error == .missingKey(path: url.path, key: "definition"))
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ok = try writeFile(#"{"task": {"benchmark": "flan", "categories": ["Misc."], "instruction_level": "instance"}}"#,
                                    "ok.jsonl", in: folder)
        #expect(try JSONLSource.task(file: ok).definition.isEmpty)
    }

    @Test("JSONL instances: missing input, numeric input, empty outputs, duplicate ids")
    func jsonlBadInstances() throws {
        let cases: [(String, (String) -> BenchError)] = [
            (#"{"id": "a", "outputs": ["y"]}"#, { .missingKey(path: $0, key: "line 2: input") }),
            (#"{"id": "a", "input": 5, "outputs": ["y"]}"#, { .wrongType(path: $0, key: "line 2: input", expected: "a string") }),
            (#"{"id": "a", "input": "x"}"#, { .missingKey(path: $0, key: "line 2: outputs") }),
            (#"{"id": "a", "input": "x", "outputs": 3}"#,
             { .wrongType(path: $0, key: "line 2: outputs", expected: "a string or a list of strings") }),
            (#"{"id": "a", "input": "x", "outputs": [" "]}"#, { .emptyOutputs(path: $0, instance: "instance a (line 2)") }),
            (#"{"id": "a", "input": "x", "outputs": ["y"]}"# + "\n" + #"{"id": "a", "input": "z", "outputs": ["w"]}"#,
             { .duplicateInstanceID(path: $0, id: "a") }),
        ]
        for (lines, expected) in cases {
            let (error, url) = try Self.jsonlError(Self.header + "\n" + lines + "\n")
            #expect(error == expected(url.path), "for \(lines)")
            Self.expectNames(error, url)
        }
    }

    // Task ids name files in a bench, so a path-like id is refused before anything is written.

    @Test("a task-level JSONL file with a blank definition is refused like a Super-NI one")
    func jsonlBlankDefinition() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for definition in [#""""#, #""   ""#, "[]"] {
            let url = try writeFile(#"{"task": {"benchmark": "flan", "categories": ["Misc."], "definition": \#(definition)}}"#
                + "\n" + #"{"id": "1", "input": "x", "outputs": ["y"]}"# + "\n", "blank_definition.jsonl", in: folder)
            #expect(throws: BenchError.self, "definition \(definition)") { try JSONLSource.task(file: url) }
        }
    }

    @Test("a JSONL task id that is a path, or empty, is refused")
    func jsonlPathLikeTaskID() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for id in ["../../escaped", "sub/task", ""] {
            let url = try writeFile(#"{"task": {"id": "\#(id)", "benchmark": "flan", "categories": ["Misc."], "definition": "x"}}"#
                + "\n" + #"{"id": "1", "input": "x", "outputs": ["y"]}"# + "\n", "path_id.jsonl", in: folder)
            #expect(throws: BenchError.self, "id \(id.debugDescription)") { try JSONLSource.task(file: url) }
        }
    }

    @Test("BenchStore.write never writes outside the bench folder")
    func writeStaysInsideBench() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("out/bench")
        var (bench, taxonomy) = try Self.smallBench()
        let last = bench.tasks.count - 1
        bench.assignments["../../escaped"] = bench.assignments[bench.tasks[last].id]
        bench.tasks[last].id = "../../escaped"
        _ = try? BenchStore.write(bench, sources: [], sourceCounts: [], taxonomy: taxonomy, to: target)
        let beside = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("out").path)
            .filter { $0 != "bench" }
        #expect(beside.isEmpty, "written beside the bench: \(beside)")
    }

    // MARK: - Split YAML

    static func splitError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (BenchError, URL) {
        let folder = try temporaryFolder("splitbad")
        let url = try writeFile(yaml, "my_split.yaml", in: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = try #require(throws: BenchError.self, sourceLocation: sourceLocation) { try SplitSpec.load(file: url) }
        return (error, url)
    }

    /// The error is `invalidSplit` at `key` (exactly), and its description names the file and the key.
    static func expectInvalidSplit(_ error: BenchError, _ url: URL, key expectedKey: String, mentions: [String] = [],
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        guard case let .invalidSplit(path, key, _) = error else {
            Issue.record("expected invalidSplit at \(expectedKey), got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(path == url.path, sourceLocation: sourceLocation)
        #expect(key == expectedKey, sourceLocation: sourceLocation)
        for word in [expectedKey] + mentions {
            #expect(error.description.contains(word), "\(error.description) does not mention \(word)", sourceLocation: sourceLocation)
        }
        #expect(error.description.contains(url.lastPathComponent), sourceLocation: sourceLocation)
    }

    @Test("an unclosed bracket → malformedFile")
    func splitMalformed() throws {
        for yaml in ["name: x\ntest:\n  categories: [Textual Entailment, Word Analogy\n", "{name: x", "key: \"unterminated\n"] {
            let (error, url) = try Self.splitError(yaml)
            guard case let .malformedFile(path, _, _) = error else {
                Issue.record("expected malformedFile for \(yaml.debugDescription), got \(error)")
                continue
            }
            #expect(path == url.path)
            Self.expectNames(error, url)
        }
    }

    @Test("a file that is not a mapping → wrongType")
    func splitNotMapping() throws {
        for yaml in ["- a\n- b\n", "just a sentence\n"] {
            let (error, url) = try Self.splitError(yaml)
            #expect(error == .wrongType(path: url.path, key: "the file", expected: "a mapping"), "for \(yaml.debugDescription)")
        }
    }

    @Test("a top-level unknown key → invalidSplit naming it")
    func splitUnknownTopKey() throws {
        let (error, url) = try Self.splitError("name: x\nheld_out:\n  categories: [Word Analogy]\n")
        Self.expectInvalidSplit(error, url, key: "held_out")
    }

    @Test("a nested unknown key → invalidSplit naming caps.train_cap")
    func splitUnknownNestedKey() throws {
        let (error, url) = try Self.splitError("caps:\n  train_per_task: 10\n  train_cap: 5\n")
        Self.expectInvalidSplit(error, url, key: "caps.train_cap")
        for (yaml, key) in [("test:\n  category: [x]\n", "test.category"), ("leakage:\n  n_gram: 8\n", "leakage.n_gram"),
                            ("instances:\n  max: 3\n", "instances.max"), ("partially_held_out:\n  share: 0.5\n", "partially_held_out.share")] {
            let (error, url) = try Self.splitError(yaml)
            Self.expectInvalidSplit(error, url, key: key)
        }
    }

    @Test("values out of range, a category or task held out for both splits → invalidSplit at the exact key", arguments: [
        ("partially_held_out:\n  fraction: 1.5\n", "partially_held_out.fraction"),
        ("instances:\n  fraction: -0.1\n", "instances.fraction"),
        ("instances:\n  fraction: 0.1\n  split: train\n", "instances.split"),
        ("instances:\n  split: demonstrations\n", "instances.split"),
        ("caps:\n  eval_per_task: 0\n", "caps.eval_per_task"),
        ("caps:\n  train_per_benchmark: {flan: -1}\n", "caps.train_per_benchmark.flan"),
        ("caps:\n  max_options: 1\n", "caps.max_options"),
        ("leakage:\n  ngram: 0\n", "leakage.ngram"),
        ("leakage:\n  threshold: 2\n", "leakage.threshold"),
        ("validation:\n  categories: [A, B]\ntest:\n  categories: [B]\n", "test.categories"),
        ("validation:\n  tasks: [t1]\ntest:\n  tasks: [t1, t2]\n", "test.tasks"),
    ])
    func splitValueOutOfRange(yaml: String, key: String) throws {
        let (error, url) = try Self.splitError(yaml)
        Self.expectInvalidSplit(error, url, key: key)
    }

    @Test("seed: banana → invalidSplit at seed")
    func splitSeedType() throws {
        let (error, url) = try Self.splitError("name: x\nseed: banana\n")
        guard case let .invalidSplit(path, key, _) = error else {
            Issue.record("expected invalidSplit, got \(error)")
            return
        }
        #expect(path == url.path)
        #expect(key.contains("seed"))
        Self.expectNames(error, url, "seed")
    }

    @Test("other type errors name their key path")
    func splitOtherTypeErrors() throws {
        for (yaml, key) in [("seed: -3\n", "seed"), ("caps:\n  eval_per_task: many\n", "caps.eval_per_task"),
                            ("instances:\n  split: sometimes\n", "instances.split"), ("leakage:\n  remove: perhaps\n", "leakage.remove"),
                            ("test: [a, b]\n", "test")] {
            let (error, url) = try Self.splitError(yaml)
            guard case let .invalidSplit(_, errorKey, _) = error else {
                Issue.record("expected invalidSplit for \(yaml.debugDescription), got \(error)")
                continue
            }
            #expect(errorKey.contains(key), "\(errorKey) for \(yaml.debugDescription)")
            Self.expectNames(error, url, key)
        }
    }

    @Test("a file with every key round-trips into the expected SplitSpec")
    func splitEveryKey() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try writeFile("""
        name: my-split
        seed: 42
        languages: [English, Spanish]
        train_tasks: [task_a, task_b]
        exclude_tasks: [task_c]
        validation:
          categories: [Word Analogy]
          tasks: [task_d]
        test:
          categories: [Textual Entailment, Data to Text]
          tasks: [task_e]
        partially_held_out:
          fraction: 0.25
          validation: [Summarization]
          test: [Question Answering]
        instances:
          fraction: 0.1
          max_per_task: 50
          split: validation
        caps:
          train_per_task: 1000
          train_per_benchmark:
            flan: 300
            t0: 200
          eval_per_task: 20
          max_options: 5
        leakage:
          exclude_shared_sources: false
          ngram: 8
          threshold: 0.05
          remove: true

        """, "every_key.yaml", in: folder)
        var expected = SplitSpec(name: "my-split")
        expected.seed = 42
        expected.languages = ["English", "Spanish"]
        expected.trainTasks = ["task_a", "task_b"]
        expected.excludeTasks = ["task_c"]
        expected.validation = .init(categories: ["Word Analogy"], tasks: ["task_d"])
        expected.test = .init(categories: ["Textual Entailment", "Data to Text"], tasks: ["task_e"])
        expected.partiallyHeldOut = .init(fraction: 0.25, validation: ["Summarization"], test: ["Question Answering"])
        expected.instances = .init(fraction: 0.1, maxPerTask: 50, split: .validation)
        expected.caps = .init(trainPerTask: 1000, trainPerBenchmark: ["flan": 300, "t0": 200], evalPerTask: 20, maxOptions: 5)
        expected.leakage = .init(excludeSharedSources: false, ngram: 8, threshold: 0.05, remove: true)
        let spec = try SplitSpec.load(file: url)
        #expect(spec == expected)

        // The same spec written as JSON reads back equal (JSON is YAML too).
        let json = JSONEncoder()
        json.outputFormatting = .sortedKeys
        let jsonURL = folder.appendingPathComponent("every_key.json")
        try json.encode(spec).write(to: jsonURL)
        #expect(try SplitSpec.load(file: jsonURL) == expected)
    }

    @Test("missing keys keep their defaults; the name defaults to the file's")
    func splitDefaults() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try writeFile("seed: 7\ntest:\n  tasks: [t1]\n", "small_split.yml", in: folder)
        var expected = SplitSpec(name: "small_split")
        expected.seed = 7
        expected.test.tasks = ["t1"]
        #expect(try SplitSpec.load(file: url) == expected)
    }

    // MARK: - BenchBuilder

    static func syntheticTasks() -> [BenchTask] {
        [syntheticTask("task_a", category: "Sentiment Analysis", count: 4),
         syntheticTask("task_b", category: "Textual Entailment", count: 4),
         syntheticTask("task_c", category: "Question Answering", count: 4)]
    }

    static func builderError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (BenchError, URL) {
        let folder = try temporaryFolder("builderbad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try writeFile(yaml, "names.yaml", in: folder)
        let spec = try SplitSpec.load(file: url)
        let builder = BenchBuilder(spec: spec, taxonomy: try Taxonomy.builtin(), specOrigin: url.path)
        let error = try #require(throws: BenchError.self, sourceLocation: sourceLocation) { try builder.build(tasks: syntheticTasks()) }
        return (error, url)
    }

    @Test("a split naming a category no task has → unknownName")
    func unknownCategory() throws {
        let (error, url) = try Self.builderError("test:\n  categories: [Textual Entailment, Interpretive Dance]\n")
        #expect(error == .unknownName(path: url.path, key: "test.categories", name: "Interpretive Dance"))
        Self.expectNames(error, url, "test.categories", "Interpretive Dance")
        // A real category that none of these tasks has is unknown too.
        let (other, url2) = try Self.builderError("validation:\n  categories: [Word Analogy]\n")
        #expect(other == .unknownName(path: url2.path, key: "validation.categories", name: "Word Analogy"))
        let (partial, url3) = try Self.builderError("partially_held_out:\n  test: [Nope]\n")
        #expect(partial == .unknownName(path: url3.path, key: "partially_held_out.test", name: "Nope"))
    }

    @Test("an alias of a task's category is not unknown")
    func aliasCategoryIsKnown() throws {
        var spec = SplitSpec(name: "alias-test")
        spec.test.categories = ["natural language inference"]
        let builder = BenchBuilder(spec: spec, taxonomy: try Taxonomy.builtin(), specOrigin: "/x/alias.yaml")
        let bench = try builder.build(tasks: Self.syntheticTasks())
        #expect(bench.assignments["task_b"]?.role == .test)
    }

    @Test("a split naming an unknown task → unknownName")
    func unknownTask() throws {
        let (error, url) = try Self.builderError("test:\n  tasks: [task_b, task_nowhere]\n")
        #expect(error == .unknownName(path: url.path, key: "test.tasks", name: "task_nowhere"))
        Self.expectNames(error, url, "test.tasks", "task_nowhere")
        for (yaml, key) in [("train_tasks: [task_a, ghost]\n", "train_tasks"), ("exclude_tasks: [ghost]\n", "exclude_tasks"),
                            ("validation:\n  tasks: [ghost]\n", "validation.tasks")] {
            let (error, url) = try Self.builderError(yaml)
            #expect(error == .unknownName(path: url.path, key: key, name: "ghost"))
        }
    }

    @Test("two sources holding the same task id → duplicateTask")
    func duplicateTaskAcrossSources() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let task = Self.header + "\n" + #"{"id": "1", "input": "x", "outputs": ["y"]}"# + "\n"
        let first = try writeFile(task, "one/same_task.jsonl", in: folder)
        try writeFile(task, "one/unique_one.jsonl", in: folder)
        let second = try writeFile(task, "two/same_task.jsonl", in: folder)
        let sources = [TaskSource(kind: .jsonl, path: folder.appendingPathComponent("one").path),
                       TaskSource(kind: .jsonl, path: folder.appendingPathComponent("two").path)]
        let error = try #require(throws: BenchError.self) { try BenchBuilder.loadTasks(sources) }
        #expect(error == .duplicateTask(id: "same_task", first: first.path, second: second.path))
        #expect(error.description.contains("one/same_task.jsonl"))
        #expect(error.description.contains("two/same_task.jsonl"))

        // Two files of one folder naming the same id are a duplicate too.
        let third = try writeFile(#"{"task": {"id": "same_task", "benchmark": "flan", "categories": ["Misc."], "definition": "x"}}"#,
                                       "one/z_other_file.jsonl", in: folder)
        let within = try #require(throws: BenchError.self) { try BenchBuilder.loadTasks([sources[0]]) }
        #expect(within == .duplicateTask(id: "same_task", first: first.path, second: third.path))
    }

    // MARK: - BenchStore

    static func smallBench() throws -> (Bench, Taxonomy) {
        let taxonomy = try Taxonomy.builtin()
        var spec = SplitSpec(name: "store-test")
        spec.test.tasks = ["task_b"]
        let bench = try BenchBuilder(spec: spec, taxonomy: taxonomy, specOrigin: "/x/store.yaml").build(tasks: syntheticTasks())
        return (bench, taxonomy)
    }

    static func partialFolders(in folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".partial-") || $0.contains(".old-") }
    }

    @Test("writing onto an existing folder without replace, or onto one that is not a bench or holds a source with it → unwritable, the folder untouched")
    func writeOntoExisting() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("bench")
        let kept = try writeFile("precious", "bench/keep.txt", in: folder)
        let (bench, taxonomy) = try Self.smallBench()
        let error = try #require(throws: BenchError.self) {
            try BenchStore.write(bench, sources: [], sourceCounts: [], taxonomy: taxonomy, to: target)
        }
        guard case let .unwritable(path, _) = error else {
            Issue.record("expected unwritable, got \(error)")
            return
        }
        #expect(path == target.path)
        #expect(error.description.contains("bench"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.path) == ["keep.txt"])
        #expect(try String(contentsOf: kept, encoding: .utf8) == "precious")
        #expect(try Self.partialFolders(in: folder).isEmpty)

        // replace takes only a bench: a folder without manifest.json, or a file, stays as it is.
        for notABench in [target, kept] {
            let refusal = try #require(throws: BenchError.self) {
                try BenchStore.write(bench, sources: [], sourceCounts: [], taxonomy: taxonomy, to: notABench, replace: true)
            }
            #expect(refusal.description.contains("is not a bench (no manifest.json)"), "\(refusal)")
        }
        #expect(try String(contentsOf: kept, encoding: .utf8) == "precious")

        // A bench is replaced, and nothing is left beside it; but never one that holds a source it is built from.
        try FileManager.default.removeItem(at: target)
        _ = try BenchStore.write(bench, sources: [], sourceCounts: [], taxonomy: taxonomy, to: target)
        _ = try BenchStore.write(bench, sources: [], sourceCounts: [], taxonomy: taxonomy, to: target, replace: true)
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("manifest.json").path))
        #expect(try Self.partialFolders(in: folder).isEmpty)
        let inside = try TaskSource(parsing: "niv2:" + target.appendingPathComponent("tasks/../tasks").path)
        let refusal = try #require(throws: BenchError.self) {
            try BenchStore.write(bench, sources: [inside], sourceCounts: [1], taxonomy: taxonomy, to: target, replace: true)
        }
        #expect(refusal.description.contains("holds the source"), "\(refusal)")
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("manifest.json").path))
    }

    @Test("a write that fails half-way → unwritable, no bench and no .partial-* folder left")
    func failedWriteLeavesNothing() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("bench")
        var (bench, taxonomy) = try Self.smallBench()
        // A task whose file cannot be created: its id names a folder that does not exist.
        let last = bench.tasks.count - 1
        bench.assignments["no_such_folder/task_z"] = bench.assignments[bench.tasks[last].id]
        bench.tasks[last].id = "no_such_folder/task_z"
        let error = try #require(throws: BenchError.self) {
            try BenchStore.write(bench, sources: [], sourceCounts: [], taxonomy: taxonomy, to: target)
        }
        guard case let .unwritable(path, _) = error else {
            Issue.record("expected unwritable, got \(error)")
            return
        }
        #expect(path == target.path)
        #expect(!FileManager.default.fileExists(atPath: target.path))
        #expect(try Self.partialFolders(in: folder).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test("a task file edited after writing → invalidBench mentioning SHA-256")
    func editedTaskFile() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("bench")
        let (bench, taxonomy) = try Self.smallBench()
        let written = try BenchStore.write(bench, sources: [], sourceCounts: [], taxonomy: taxonomy, to: target)
        let manifest = try BenchStore.manifest(target)
        #expect(manifest == written)
        let (task, record) = try BenchStore.task("task_a", in: target, manifest: manifest)
        #expect(task.id == "task_a")
        #expect(record.file == "tasks/task_a.jsonl")

        let file = target.appendingPathComponent(record.file)
        var data = try Data(contentsOf: file)
        data.append(contentsOf: Array(#"{"id": "extra", "input": "x", "outputs": ["y"], "split": "train"}"#.utf8) + [0x0A])
        try data.write(to: file)
        let error = try #require(throws: BenchError.self) { try BenchStore.task("task_a", in: target, manifest: manifest) }
        guard case let .invalidBench(path, _) = error else {
            Issue.record("expected invalidBench, got \(error)")
            return
        }
        #expect(path == file.path)
        Self.expectNames(error, file, "SHA-256")
        #expect(try Self.partialFolders(in: folder).isEmpty)
    }

    @Test("a folder without manifest.json → invalidBench")
    func missingManifest() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeFile("{}", "tasks/task_a.jsonl", in: folder)
        let error = try #require(throws: BenchError.self) { try BenchStore.manifest(folder) }
        guard case let .invalidBench(path, _) = error else {
            Issue.record("expected invalidBench, got \(error)")
            return
        }
        #expect(path == folder.path)
        #expect(error.description.contains(folder.lastPathComponent))
        #expect(error.description.contains("manifest.json"))
    }

    @Test("a manifest.json that is not a bench manifest → invalidBench")
    func foreignManifest() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeFile(#"{"hello": "world"}"#, "manifest.json", in: folder)
        let error = try #require(throws: BenchError.self) { try BenchStore.manifest(folder) }
        guard case .invalidBench = error else {
            Issue.record("expected invalidBench, got \(error)")
            return
        }
        #expect(error.description.contains("manifest.json"))
    }

    @Test("BenchStore.task for an id the bench lacks → unknownTask")
    func unknownStoredTask() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("bench")
        let (bench, taxonomy) = try Self.smallBench()
        let manifest = try BenchStore.write(bench, sources: [], sourceCounts: [], taxonomy: taxonomy, to: target)
        let error = try #require(throws: BenchError.self) { try BenchStore.task("task_nowhere", in: target, manifest: manifest) }
        #expect(error == .unknownTask(bench: target.path, task: "task_nowhere"))
        #expect(error.description.contains("task_nowhere"))
        #expect(error.description.contains(target.lastPathComponent))
    }
}

extension BadInputTests {
    @Test("an instance id that is not a string names the instance; options need two entries; explanations must be text")
    func instanceFieldTypes() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let niv2 = try writeFile(#"{"Definition": ["d"], "Instances": [{"id": "a", "input": "x", "output": ["y"]}, {"id": 5, "input": "x", "output": ["y"]}]}"#,
                                      "task1_ids.json", in: folder)
        #expect(throws: BenchError.wrongType(path: niv2.path, key: "Instances[1].id", expected: "a string")) { try NIV2Source.task(file: niv2) }
        let jsonl = try writeFile(#"{"task": {"benchmark": "b", "categories": ["c"], "definition": "d"}}"# + "\n" + #"{"id": 7, "input": "x", "outputs": ["y"]}"#,
                                       "ids.jsonl", in: folder)
        #expect(throws: BenchError.wrongType(path: jsonl.path, key: "line 2.id", expected: "a string")) { try JSONLSource.task(file: jsonl) }
        let options = try writeFile(#"{"task": {"benchmark": "b", "categories": ["c"], "definition": "d", "options": []}}"# + "\n"
            + #"{"input": "x", "outputs": ["y"]}"#, "options.jsonl", in: folder)
        #expect(throws: BenchError.wrongType(path: options.path, key: "task.options", expected: "a list of at least two answer options")) {
            try JSONLSource.task(file: options)
        }
        let explanation = try writeFile(#"{"Definition": "d", "Positive Examples": [{"input": "i", "output": "o", "explanation": 3}], "Instances": []}"#,
                                             "task2_expl.json", in: folder)
        #expect(throws: BenchError.wrongType(path: explanation.path, key: "Positive Examples[0].explanation", expected: "a string")) {
            try NIV2Source.task(file: explanation)
        }
    }

    @Test("JSONL instances without an id are numbered from 0, blank lines not counted; an empty split file keeps every default")
    func defaults() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let jsonl = try writeFile(#"{"task": {"benchmark": "b", "categories": ["c"], "definition": "d"}}"# + "\n\n"
            + #"{"input": "x", "outputs": ["y"]}"# + "\n\n" + #"{"input": "z", "outputs": ["w"]}"# + "\n", "numbered.jsonl", in: folder)
        #expect(try JSONLSource.task(file: jsonl).instances.map(\.id) == ["numbered-0", "numbered-1"])
        for text in ["", "# nothing but a comment\n"] {
            let split = try writeFile(text, "empty.yaml", in: folder)
            var expected = SplitSpec(name: "empty")
            expected.seed = 0
            #expect(try SplitSpec.load(file: split) == expected)
        }
    }
}
