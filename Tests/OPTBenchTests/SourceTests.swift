import Foundation
import Testing
@testable import OPTBench

/// The task readers (Super-NI JSON, JSONL), the taxonomy and `--source` parsing, on small files
/// written into a fresh temporary folder.
@Suite("Task sources")
struct SourceTests {

    static func minimalNIV2(definition: String = #""Do it.""#, categories: String = #"["Misc."]"#) -> String {
        #"{"Definition": \#(definition), "Categories": \#(categories), "Instances": [{"id": "i0", "input": "in", "output": ["out"]}]}"#
    }

    // MARK: - NIV2Source.task(file:)

    static let fullNIV2 = #"""
    {
      "Contributors": ["Someone"],
      "Source": ["snli", "mnli"],
      "URL": [NaN],
      "Categories": ["Textual Entailment"],
      "Reasoning": ["Commonsense Reasoning", "Logical Reasoning"],
      "Definition": ["Decide whether the premise entails the hypothesis.", "A second definition."],
      "Input_language": ["English"],
      "Output_language": ["Spanish"],
      "Instruction_language": ["German"],
      "Domains": ["Fiction", "News"],
      "Positive Examples": [
        {"input": "pos in 1", "output": "pos out 1", "explanation": "pos why 1"},
        {"input": "pos in 2", "output": "pos out 2"}
      ],
      "Negative Examples": [
        {"input": "neg in", "output": "neg out", "explanation": "neg why"},
        {"input": "neg in 2", "output": "neg out 2"}
      ],
      "Instances": [
        {"id": "task001_full-a", "input": "first input", "output": ["yes", "Yes"]},
        {"id": "task001_full-b", "input": "second input", "output": "no"}
      ],
      "Instance License": ["CC BY 4.0"],
      "Score": Infinity,
      "Floor": -Infinity
    }
    """#

    @Test("every key of the Super-NI schema is read")
    func niv2EveryKey() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try writeFile(Self.fullNIV2, "task001_full.json", in: folder)
        let task = try NIV2Source.task(file: url)
        #expect(task.id == "task001_full")
        #expect(task.benchmark == "niv2")
        #expect(task.instructionLevel == .task)
        #expect(task.definition == ["Decide whether the premise entails the hypothesis.", "A second definition."])
        #expect(task.originalCategories == ["Textual Entailment"])
        #expect(task.categories == ["Textual Entailment"])
        #expect(task.sources == ["snli", "mnli"])
        #expect(task.inputLanguages == ["English"])
        #expect(task.outputLanguages == ["Spanish"])
        #expect(task.instructionLanguages == ["German"])
        #expect(task.domains == ["Fiction", "News"])
        #expect(task.reasoning == ["Commonsense Reasoning", "Logical Reasoning"])
        #expect(task.positiveExamples == [TaskExample(input: "pos in 1", output: "pos out 1", explanation: "pos why 1"),
                                          TaskExample(input: "pos in 2", output: "pos out 2")])
        #expect(task.negativeExamples == [TaskExample(input: "neg in", output: "neg out", explanation: "neg why"),
                                          TaskExample(input: "neg in 2", output: "neg out 2")])
        #expect(task.instances == [TaskInstance(id: "task001_full-a", input: "first input", outputs: ["yes", "Yes"]),
                                   TaskInstance(id: "task001_full-b", input: "second input", outputs: ["no"])])
        #expect(task.options == nil)
        #expect(task.templates.isEmpty)
        #expect(task.origin == url.path)
    }

    @Test("a Definition given as a plain string is a list of one")
    func niv2DefinitionString() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try writeFile(Self.minimalNIV2(definition: #""Only one definition.""#, categories: #""Misc.""#),
                                     "task002_plain.json", in: folder)
        let task = try NIV2Source.task(file: url)
        #expect(task.definition == ["Only one definition."])
        #expect(task.originalCategories == ["Misc."])
        // Keys the file lacks come back empty.
        #expect(task.sources.isEmpty)
        #expect(task.positiveExamples.isEmpty)
        #expect(task.negativeExamples.isEmpty)
        #expect(task.inputLanguages.isEmpty)
        #expect(task.domains.isEmpty)
        #expect(task.reasoning.isEmpty)
    }

    @Test("NaN and Infinity outside strings load; the same words inside strings stay as written")
    func niv2NonFiniteNumbers() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = #"""
        {"URL": [NaN], "Score": Infinity, "Low": -Infinity,
         "Definition": "Answer \"NaN\" when unsure; Infinity and -Infinity are words too.",
         "Source": ["C:\\NaN\\", "x"],
         "Instances": [{"id": "n1", "input": "Is NaN a number? \\", "output": ["NaN"]},
                       {"id": "n2", "input": "Infinity", "output": "-Infinity", "weight": NaN}]}
        """#
        let url = try writeFile(text, "task003_nan.json", in: folder)
        let task = try NIV2Source.task(file: url)
        #expect(task.definition == [#"Answer "NaN" when unsure; Infinity and -Infinity are words too."#])
        #expect(task.sources == [#"C:\NaN\"#, "x"])
        #expect(task.instances.map(\.input) == [#"Is NaN a number? \"#, "Infinity"])
        #expect(task.instances.map(\.outputs) == [["NaN"], ["-Infinity"]])
    }

    @Test("an instance without id gets <task>-<index>")
    func niv2DefaultInstanceID() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = #"""
        {"Definition": ["Do it."], "Instances": [
          {"input": "a", "output": ["1"]},
          {"id": "explicit", "input": "b", "output": ["2"]},
          {"input": "c", "output": ["3"]}]}
        """#
        let url = try writeFile(text, "task004_ids.json", in: folder)
        let task = try NIV2Source.task(file: url)
        #expect(task.instances.map(\.id) == ["task004_ids-0", "explicit", "task004_ids-2"])
    }

    // MARK: - NIV2Source.load(directory:)

    @Test("a flat folder of task*.json files, other files ignored, no split lists")
    func niv2FlatFolder() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeFile(Self.minimalNIV2(), "task020_b.json", in: folder)
        try writeFile(Self.minimalNIV2(), "task010_a.json", in: folder)
        try writeFile("not json at all", "README.md", in: folder)
        try writeFile("{}", "notes.json", in: folder)
        try writeFile("{}", "task030_c.json.bak", in: folder)
        let (tasks, splits) = try NIV2Source.load(directory: folder)
        #expect(tasks.map(\.id) == ["task010_a", "task020_b"])
        #expect(splits.isEmpty)
    }

    @Test("the official layout: tasks/ with splits/default/{train,test,excluded}_tasks.txt")
    func niv2OfficialLayout() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for id in ["task001_x", "task002_y", "task003_z"] {
            try writeFile(Self.minimalNIV2(), "tasks/\(id).json", in: folder)
        }
        try writeFile("{}", "tasks/README.md", in: folder)
        // A task file at the top is not read: the tasks/ folder wins.
        try writeFile("broken", "task999_top.json", in: folder)
        try writeFile("task001_x\n\n  task002_y  \n", "splits/default/train_tasks.txt", in: folder)
        try writeFile("task003_z\n", "splits/default/test_tasks.txt", in: folder)
        try writeFile("task002_y\r\n", "splits/default/excluded_tasks.txt", in: folder)
        // A split without excluded_tasks.txt, and a folder without test_tasks.txt (skipped).
        try writeFile("task002_y\n", "splits/other/train_tasks.txt", in: folder)
        try writeFile("task001_x\n", "splits/other/test_tasks.txt", in: folder)
        try writeFile("task001_x\n", "splits/incomplete/train_tasks.txt", in: folder)

        let (tasks, splits) = try NIV2Source.load(directory: folder)
        #expect(tasks.map(\.id) == ["task001_x", "task002_y", "task003_z"])
        #expect(Set(splits.keys) == ["default", "other"])
        #expect(splits["default"] == NIV2SplitLists(train: ["task001_x", "task002_y"], test: ["task003_z"], excluded: ["task002_y"]))
        #expect(splits["other"] == NIV2SplitLists(train: ["task002_y"], test: ["task001_x"], excluded: []))
    }

    @Test("a folder without task files is an invalid source")
    func niv2EmptyFolder() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeFile("{}", "other.json", in: folder)
        let error = try #require(throws: BenchError.self) { try NIV2Source.load(directory: folder) }
        guard case .invalidSource = error else {
            Issue.record("expected invalidSource, got \(error)")
            return
        }
        #expect(error.description.contains(folder.lastPathComponent))
    }

    @Test("load returns the tasks sorted by id, as documented")
    func niv2SortedByID() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeFile(Self.minimalNIV2(), "taskA.json", in: folder)
        try writeFile(Self.minimalNIV2(), "taskA-b.json", in: folder)
        let ids = try NIV2Source.load(directory: folder).tasks.map(\.id)
        #expect(Set(ids) == ["taskA", "taskA-b"])
        // By file name, "taskA-b.json" < "taskA.json" ('-' < '.'), while the ids sort the other way: the loader sorts by id.
        #expect(ids == ids.sorted())
    }

    // MARK: - JSONLSource

    @Test("a task-level JSONL file: every header key, output and outputs, blank lines ignored")
    func jsonlTaskLevel() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = """
        {"task": {"benchmark": "flan", "categories": ["Sentiment Analysis"], "definition": "Classify the review.", \
        "sources": ["sst2"], "templates": ["t1", "t2"], "options": ["negative", "positive"], \
        "positive_examples": [{"input": "great film", "output": "positive", "explanation": "praise"}], \
        "negative_examples": [{"input": "awful film", "output": "positive"}], \
        "domains": ["Reviews"], "reasoning": ["Sentiment"]}}

        {"id": "r1", "input": "I loved it", "outputs": ["positive"]}
           \t
        {"id": "r2", "input": "I hated it", "output": "negative"}
        {"id": "r3", "input": "meh", "output": ["negative", "positive"]}
        {"id": "r4", "input": "both keys", "outputs": ["positive"], "output": "ignored"}

        """
        let url = try writeFile(text, "flan_sst2.jsonl", in: folder)
        let task = try JSONLSource.task(file: url)
        #expect(task.id == "flan_sst2")
        #expect(task.benchmark == "flan")
        #expect(task.instructionLevel == .task)
        #expect(task.definition == ["Classify the review."])
        #expect(task.originalCategories == ["Sentiment Analysis"])
        #expect(task.sources == ["sst2"])
        #expect(task.templates == ["t1", "t2"])
        #expect(task.options == ["negative", "positive"])
        #expect(task.positiveExamples == [TaskExample(input: "great film", output: "positive", explanation: "praise")])
        #expect(task.negativeExamples == [TaskExample(input: "awful film", output: "positive")])
        #expect(task.domains == ["Reviews"])
        #expect(task.reasoning == ["Sentiment"])
        #expect(task.inputLanguages == ["English"])
        #expect(task.outputLanguages == ["English"])
        #expect(task.instructionLanguages == ["English"])
        #expect(task.origin == url.path)
        #expect(task.instances == [
            TaskInstance(id: "r1", input: "I loved it", outputs: ["positive"]),
            TaskInstance(id: "r2", input: "I hated it", outputs: ["negative"]),
            TaskInstance(id: "r3", input: "meh", outputs: ["negative", "positive"]),
            TaskInstance(id: "r4", input: "both keys", outputs: ["positive"]),
        ])
    }

    @Test("an instance-level JSONL file with per-instance options, its own id and languages")
    func jsonlInstanceLevel() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = """
        {"task": {"id": "ps_qa", "benchmark": "promptsource", "categories": ["Question Answering"], \
        "instruction_level": "instance", "input_languages": ["French"], "output_languages": "French"}}
        {"id": "q1", "input": "Pick one: A or B?", "outputs": ["A"], "options": ["A", "B"]}
        {"input": "Pick one: C, D or E?", "outputs": ["E"], "options": ["C", "D", "E"]}
        {"id": "q3", "input": "Say anything.", "outputs": ["anything"]}
        """
        let url = try writeFile(text, "file_name.jsonl", in: folder)
        let task = try JSONLSource.task(file: url)
        #expect(task.id == "ps_qa")
        #expect(task.instructionLevel == .instance)
        #expect(task.definition.isEmpty)
        #expect(task.options == nil)
        #expect(task.inputLanguages == ["French"])
        #expect(task.outputLanguages == ["French"])
        #expect(task.instructionLanguages == ["English"])
        #expect(task.instances.count == 3)
        #expect(task.instances[0] == TaskInstance(id: "q1", input: "Pick one: A or B?", outputs: ["A"], options: ["A", "B"]))
        #expect(task.instances[1].options == ["C", "D", "E"])
        #expect(task.instances[1].id.hasPrefix("ps_qa-"))
        #expect(task.instances[2].options == nil)
        #expect(task.options(for: task.instances[0]) == ["A", "B"])
        #expect(task.options(for: task.instances[2]) == nil)
    }

    @Test("a folder of .jsonl files: every file read, sorted by task id, other files ignored")
    func jsonlFolder() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func header(_ id: String?) -> String {
            let idPart = id.map { #""id": "\#($0)", "# } ?? ""
            return #"{"task": {\#(idPart)"benchmark": "crossfit", "categories": ["Misc."], "definition": "Do it."}}"#
                + "\n" + #"{"id": "1", "input": "x", "outputs": ["y"]}"# + "\n"
        }
        try writeFile(header("zeta"), "a.jsonl", in: folder)
        try writeFile(header("alpha"), "b.jsonl", in: folder)
        try writeFile(header(nil), "middle.jsonl", in: folder)
        try writeFile("not a task", "notes.txt", in: folder)
        try writeFile("not a task", "c.jsonl.bak", in: folder)
        let tasks = try JSONLSource.load(path: folder)
        #expect(tasks.map(\.id) == ["alpha", "middle", "zeta"])
        // One file given directly.
        #expect(try JSONLSource.load(path: folder.appendingPathComponent("middle.jsonl")).map(\.id) == ["middle"])
    }

    @Test("a JSONL path that does not exist, or a folder without .jsonl files, is an invalid source")
    func jsonlMissingPath() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("nowhere")
        let first = try #require(throws: BenchError.self) { try JSONLSource.load(path: missing) }
        #expect(first == .invalidSource("jsonl:\(missing.path)", reason: "no such file or folder"))
        let second = try #require(throws: BenchError.self) { try JSONLSource.load(path: folder) }
        guard case .invalidSource = second else {
            Issue.record("expected invalidSource, got \(second)")
            return
        }
    }

    // MARK: - Taxonomy

    @Test("the builtin map merges near-duplicates and ignores case, '_' and '-'")
    func builtinTaxonomy() throws {
        let taxonomy = try Taxonomy.builtin()
        #expect(taxonomy.origin == "builtin")
        #expect(!taxonomy.data.isEmpty)
        #expect(taxonomy.consolidated("hate speech detection") == "Toxic Language Detection")
        #expect(taxonomy.consolidated("Hate_Speech-Detection") == "Toxic Language Detection")
        #expect(taxonomy.consolidated("  HATE   speech\tdetection ") == "Toxic Language Detection")
        #expect(taxonomy.consolidated("Textual Entailment") == "Textual Entailment")
        #expect(taxonomy.consolidated("Natural Language Inference") == "Textual Entailment")
        #expect(taxonomy.consolidated("Toxic Language Detection") == "Toxic Language Detection")
        #expect(taxonomy.consolidated("Definitely Not A Category") == nil)
        #expect(taxonomy.consolidated("") == nil)
    }

    @Test("consolidate maps known names, keeps unknown ones, and drops repeats in order")
    func consolidateKeepsUnknown() throws {
        let taxonomy = try Taxonomy.builtin()
        #expect(taxonomy.consolidate(["Made Up Category", "hate speech detection", "Toxic Language Detection",
                                      "NLI", "Made Up Category"])
                == ["Made Up Category", "Toxic Language Detection", "Textual Entailment"])
        #expect(taxonomy.consolidate([]) == [])
    }

    @Test("a user's map file is read; an alias claimed by two entries is rejected")
    func userTaxonomy() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try writeFile(#"""
        {"categories": [{"name": "Alpha", "aliases": ["first letter", "A"]}, {"name": "Beta", "aliases": []}, {"name": "Gamma"}]}
        """#, "good.json", in: folder)
        let taxonomy = try Taxonomy(file: good)
        #expect(taxonomy.origin == good.path)
        #expect(taxonomy.consolidated("First_Letter") == "Alpha")
        #expect(taxonomy.consolidated("a") == "Alpha")
        #expect(taxonomy.consolidated("beta") == "Beta")
        #expect(taxonomy.consolidated("gamma") == "Gamma")
        #expect(taxonomy.consolidated("Textual Entailment") == nil)

        let duplicate = try writeFile(#"""
        {"categories": [{"name": "Alpha", "aliases": ["shared name"]}, {"name": "Beta", "aliases": ["Shared_Name"]}]}
        """#, "duplicate.json", in: folder)
        let error = try #require(throws: BenchError.self) { try Taxonomy(file: duplicate) }
        guard case let .malformedFile(path, _, reason) = error else {
            Issue.record("expected malformedFile, got \(error)")
            return
        }
        #expect(path == duplicate.path)
        #expect(reason.contains("categories[1]"))
        #expect(error.description.contains("duplicate.json"))
        #expect(error.description.contains("Shared_Name"))

        // An alias equal to another entry's name is a duplicate too.
        let nameClash = try writeFile(#"{"categories": [{"name": "Alpha"}, {"name": "Beta", "aliases": ["alpha"]}]}"#,
                                           "clash.json", in: folder)
        #expect(throws: BenchError.self) { try Taxonomy(file: nameClash) }
    }

    // MARK: - TaskSource

    @Test("--source KIND:PATH parsing")
    func taskSourceParsing() throws {
        #expect(try TaskSource(parsing: "niv2:/x") == TaskSource(kind: .niv2, path: "/x"))
        #expect(try TaskSource(parsing: "jsonl:rel/path") == TaskSource(kind: .jsonl, path: "rel/path"))
        #expect(try TaskSource(parsing: "jsonl:a:b") == TaskSource(kind: .jsonl, path: "a:b"))
        for bad in ["foo:/x", "niv2:", "nocolon", "", ":/x", "NIV2:/x"] {
            let error = try #require(throws: BenchError.self, "\(bad)") { try TaskSource(parsing: bad) }
            guard case let .invalidSource(spec, _) = error else {
                Issue.record("expected invalidSource for \(bad.debugDescription), got \(error)")
                continue
            }
            #expect(spec == bad)
        }
    }
}
