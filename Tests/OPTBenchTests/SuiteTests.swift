import Foundation
import OPTData
import Testing
@testable import OPTBench

/// Evaluation suites as data: the shipped suites parse, their layouts read the official files, and the rendered
/// prompts follow lm-evaluation-harness's rules; bad data gets errors that name the file and row.
@Suite("Evaluation suites")
struct SuiteTests {
    static let mmluRows = [
        ("What is 1+1?", "1", "2", "3", "4", "B"),
        ("Pick the vowel.", "b", "c", "a", "d", "C"),
        ("\"Quoted\", with a comma?", "yes", "no", "maybe", "never", "A"),
        ("Last one.", "w", "x", "y", "z", "D"),
    ]

    /// MMLU's official layout for one subject: the first `dev` rows as dev, the rest as test (header-less CSV).
    static func officialMMLU(subject: String = "anatomy", dev: Int = 2) throws -> URL {
        let root = try temporaryFolder("mmlu")
        func csv(_ rows: ArraySlice<(String, String, String, String, String, String)>) -> String {
            rows.map { row in
                [row.0, row.1, row.2, row.3, row.4, row.5].map { $0.contains(where: { ",\"".contains($0) }) ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
                    .joined(separator: ",")
            }.joined(separator: "\n") + "\n"
        }
        try writeFile(csv(mmluRows.prefix(dev)), "data/dev/\(subject)_dev.csv", in: root)
        try writeFile(csv(mmluRows.dropFirst(dev)), "data/test/\(subject)_test.csv", in: root)
        return root
    }

    /// The same rows as one JSONL with a `topic` (the shared data's layout), another subject's row between them.
    static func jsonlMMLU() throws -> URL {
        let root = try temporaryFolder("mmlujsonl")
        var lines: [String] = []
        for (index, row) in mmluRows.enumerated() {
            let object: [String: String] = ["question": row.0, "answer_a": row.1, "answer_b": row.2, "answer_c": row.3, "answer_d": row.4,
                                            "correct_answer": row.5, "topic": "anatomy"]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            if index == 1 {
                lines.append(#"{"question": "Other?", "answer_a": "a", "answer_b": "b", "answer_c": "c", "answer_d": "d", "correct_answer": "A", "topic": "astronomy"}"#)
            }
        }
        try writeFile(lines.joined(separator: "\n") + "\n", "test.jsonl", in: root)
        return root
    }

    @Test("the shipped suites parse: 57 MMLU subjects in 4 categories, 27 BBH tasks in two variants, OPT's 14 tasks, 11 PromptSource datasets, Super-NI's test split")
    func shippedSuites() throws {
        #expect(EvalSuite.available == ["bbh", "bbh-cot", "mmlu", "opt14", "promptsource-heldout", "superni"])
        let superni = try EvalSuite.named("superni")
        #expect(superni.shots == [0, 2] && superni.superni?.split == "splits/default/test_tasks.txt" && superni.superni?.instances == 100)
        #expect(try EvalSuite.named("opt14").resolvedTasks().map(\.name).sorted() == ["arc_challenge", "arc_easy", "boolq", "cb", "copa", "hellaswag",
                                                                                    "openbookqa", "piqa", "rte", "storycloze_2016", "wic", "winogrande",
                                                                                    "wsc", "wsc273"])
        #expect(try EvalSuite.named("promptsource-heldout").promptsource?.count == 11)
        let mmlu = try EvalSuite.named("mmlu").resolvedTasks()
        #expect(mmlu.count == 57)
        #expect(Set(mmlu.map(\.category)) == ["stem", "humanities", "social_sciences", "other"])
        for name in ["bbh", "bbh-cot"] {
            let tasks = try EvalSuite.named(name).resolvedTasks()
            #expect(tasks.count == 27 && tasks.allSatisfy { $0.outputType == .generateUntil && $0.until == ["</s>", "Q", "\n\n"] })
        }
        #expect(try EvalSuite.named("bbh-cot").resolvedTasks()[0].filters.first?.regexPattern == "(?<=the answer is )(.*)(?=.)")
    }

    @Test("Super-NI from the shared repository subset: the test split's tasks that are there, in the list's order, a missing one named", .enabled(if: Paths.hasNIV2, "../shared/data/niv2 is absent"))
    func superNIFromTheRepository() throws {
        let suite = try EvalSuite.named("superni")
        #expect {
            try SuiteBuilder(suite: suite, data: Paths.niv2, maxShots: 2).build()
        } throws: { error in
            guard case let SuiteError.missingData(_, task, _, tried) = error else { return false }
            return task == "task1356_xlsum_title_generation" && tried == ["tasks/task1356_xlsum_title_generation.json"]
        }
        let (tasks, missing) = try SuiteBuilder(suite: suite, data: Paths.niv2, skipMissing: true, maxShots: 2).build()
        let listed = try String(contentsOf: Paths.niv2.appendingPathComponent("splits/default/test_tasks.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(tasks.count == 22 && missing.count == 119 - 22 && tasks.map(\.id) == listed.filter { name in tasks.contains { $0.id == name } })
        #expect(Set(tasks.flatMap(\.categories)).count == 12)
        #expect(tasks.allSatisfy { task in
            task.benchmark == "superni" && task.suite?.tkEncoding?.maxSourceLength == 1024 && task.suite?.outputType == .generateUntil
                && task.instances.count <= 100 && task.instances.allSatisfy { $0.options == nil && $0.split == .test }
        })
    }

    @Test("MMLU from the official CSVs: lm-eval's prompt, options A–D, gold from the letter, dev rows as exemplars in order")
    func mmluOfficial() throws {
        let root = try Self.officialMMLU()
        defer { try? FileManager.default.removeItem(at: root) }
        let (tasks, missing) = try SuiteBuilder(suite: try EvalSuite.named("mmlu"), data: root, only: ["anatomy"], maxShots: 2).build()
        #expect(missing.isEmpty && tasks.count == 1)
        let task = try #require(tasks.first)
        #expect(task.id == "mmlu_anatomy" && task.categories == ["stem"] && task.benchmark == "mmlu")
        #expect(task.instances.map(\.id) == ["0", "1"])
        let first = task.instances[0]
        #expect(first.input == "\"Quoted\", with a comma?\nA. yes\nB. no\nC. maybe\nD. never\nAnswer:")
        #expect(first.options == ["A", "B", "C", "D"] && first.gold == 0 && first.outputs == ["A"] && first.split == .test)
        #expect(task.positiveExamples.map(\.output) == ["B", "C"])
        #expect(task.suite?.description == "The following are multiple choice questions (with answers) about anatomy.\n\n")
        let example = PromptFormatter(style: .suite(shots: 1)).format(task.instances[1], of: task)
        #expect(example.src == "The following are multiple choice questions (with answers) about anatomy.\n\n"
            + "What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\nLast one.\nA. w\nB. x\nC. y\nD. z\nAnswer:")
        #expect(example.candidates == [" A", " B", " C", " D"] && example.gold == 3 && example.shots == 1)
    }

    @Test("MMLU from one JSONL without a dev split: the first k questions of the subject are carved out as exemplars, ids count from the rest")
    func mmluCarved() throws {
        let official = try Self.officialMMLU(), jsonl = try Self.jsonlMMLU()
        defer { for root in [official, jsonl] { try? FileManager.default.removeItem(at: root) } }
        let suite = try EvalSuite.named("mmlu")
        let fromCSV = try SuiteBuilder(suite: suite, data: official, only: ["anatomy"], maxShots: 2).build().tasks[0]
        let fromJSONL = try SuiteBuilder(suite: suite, data: jsonl, only: ["anatomy"], maxShots: 2).build().tasks[0]
        #expect(fromJSONL.instances == fromCSV.instances)
        #expect(fromJSONL.positiveExamples == fromCSV.positiveExamples)
        #expect(fromJSONL.suite?.fewshotOrigin?.contains("first 2 questions") == true && fromCSV.suite?.fewshotOrigin == nil)
    }

    @Test("a missing subject names the task and the paths looked for; --skip-missing lists it instead")
    func missingSubject() throws {
        let root = try Self.officialMMLU()
        defer { try? FileManager.default.removeItem(at: root) }
        let suite = try EvalSuite.named("mmlu")
        #expect {
            try SuiteBuilder(suite: suite, data: root, only: ["anatomy", "astronomy"], maxShots: 0).build()
        } throws: { error in
            guard case let SuiteError.missingData(_, task, _, tried) = error else { return false }
            return task == "mmlu_astronomy" && tried.contains("data/test/astronomy_test.csv") && "\(error)".contains("--skip-missing")
        }
        let (tasks, missing) = try SuiteBuilder(suite: suite, data: root, only: ["anatomy", "astronomy"], skipMissing: true, maxShots: 0).build()
        #expect(tasks.map(\.id) == ["mmlu_anatomy"] && missing == ["mmlu_astronomy"])
        #expect(throws: SuiteError.unknownTasks(suite: "mmlu", names: ["astrology"])) {
            try SuiteBuilder(suite: suite, data: root, only: ["astrology"], maxShots: 0).build()
        }
    }

    @Test("bad data: a CSV row with a wrong field count, a row without the template's column, an unknown suite")
    func badData() throws {
        let root = try Self.officialMMLU()
        defer { try? FileManager.default.removeItem(at: root) }
        try writeFile("Q1,a,b,c,d,A\nQ2,a,b,c,B\n", "data/test/anatomy_test.csv", in: root)
        #expect {
            try SuiteBuilder(suite: try EvalSuite.named("mmlu"), data: root, only: ["anatomy"], maxShots: 0).build()
        } throws: { error in
            guard let error = error as? DataError else { return false }
            return "\(error)".contains("anatomy_test.csv:2: expected 6 fields")
        }
        try writeFile("Q1,a,b,c,d,E\n", "data/test/anatomy_test.csv", in: root)
        #expect {
            try SuiteBuilder(suite: try EvalSuite.named("mmlu"), data: root, only: ["anatomy"], maxShots: 0).build()
        } throws: { error in
            guard case let SuiteError.badRow(file, row, task, _) = error else { return false }
            return file.hasSuffix("anatomy_test.csv") && row == 0 && task == "mmlu_anatomy"
        }
        let jsonl = try temporaryFolder("mmlujsonl")
        defer { try? FileManager.default.removeItem(at: jsonl) }
        try writeFile(#"{"topic": "anatomy", "question": "Q?", "answer_a": "a", "answer_b": "b", "answer_c": "c", "correct_answer": "A"}"# + "\n",
                      "test.jsonl", in: jsonl)
        #expect {
            try SuiteBuilder(suite: try EvalSuite.named("mmlu"), data: jsonl, only: ["anatomy"], maxShots: 0).build()
        } throws: { error in
            guard case let SuiteError.badRow(file, row, _, reason) = error else { return false }
            return file.hasSuffix("test.jsonl") && row == 0 && reason.contains("answer_d")
        }
        #expect { try EvalSuite.named("mmlu-pro") } throws: { error in
            guard case let SuiteError.unknownSuite(name, available) = error else { return false }
            return name == "mmlu-pro" && available.contains("mmlu")
        }
    }

    /// A suite file's own mistakes are definition errors naming the suite and what is wrong: a task listed twice (it
    /// names the task's results), shot counts out of range, a metric the task's type does not give (which scored 0),
    /// no metric, a generation of no tokens, no tasks at all.
    @Test("bad suite definitions: a task twice, shots out of range, an unknown or empty metric list, max_gen_toks 0, no tasks")
    func badDefinitions() throws {
        let base = try EvalSuite.named("mmlu")
        func refusal(_ edit: (inout EvalSuite) -> Void) -> String {
            var suite = base
            edit(&suite)
            do {
                _ = try suite.resolvedTasks()
                return "accepted"
            } catch let error as SuiteError {
                guard case .badDefinition(let name, _) = error, name == "mmlu" else { return "wrong error: \(error)" }
                return "\(error)"
            } catch { return "wrong error: \(error)" }
        }
        #expect(refusal { $0.tasks.append($0.tasks[3]) } == "suite mmlu: the task \(try base.resolvedTasks()[3].name) is listed twice")
        #expect(refusal { $0.shots = [0, -1] } == "suite mmlu: shots: -1 is not between 0 and 32")
        #expect(refusal { $0.shots = [33] } == "suite mmlu: shots: 33 is not between 0 and 32")
        #expect(refusal { $0.shots = [0, 5, 0] } == "suite mmlu: shots: [0, 5, 0] lists a count twice")
        #expect(refusal { $0.tasks[0].metrics = ["acc", "bleu"] }.hasSuffix(": no metric bleu for multiple_choice (it has acc, acc_norm, acc_calibrated)"))
        #expect(refusal { $0.tasks[0].metrics = [] }.hasSuffix(": metrics is empty (the first is the task's score)"))
        #expect(refusal { $0.tasks[0].maxGenToks = 0 }.hasSuffix(": max_gen_toks must be at least 1, not 0"))
        #expect(refusal { $0.tasks = [] } == "suite mmlu: it lists no tasks (nor promptsource or superni datasets)")
        #expect(refusal { $0.tasks[0].metrics = ["acc_norm", "acc"] } == "accepted")
    }

    @Test("BIG-Bench Hard's chain-of-thought prompts: 3 exemplars each; answer-only shows final answers, CoT the reasoning",
          .enabled(if: Paths.hasBBH, "../shared/data/bbh is absent"))
    func bbhPrompts() throws {
        let answerOnly = try EvalSuite.named("bbh"), cot = try EvalSuite.named("bbh-cot")
        let (tasks, missing) = try SuiteBuilder(suite: answerOnly, data: Paths.bbh, skipMissing: true, maxShots: 3).build()
        #expect(tasks.count == 19 && missing.count == 8)
        #expect(tasks.allSatisfy { $0.positiveExamples.count == 3 })
        let boolean = try #require(tasks.first { $0.id == "bbh_boolean_expressions" })
        #expect(boolean.positiveExamples.map(\.output) == ["False", "False", "True"])
        #expect(boolean.suite?.description == "Evaluate the result of a random Boolean expression.\n\n")
        #expect(boolean.instances.count == 250 && boolean.instances[0].input.hasPrefix("Q: ") && boolean.instances[0].input.hasSuffix("\nA:"))
        let navigate = try SuiteBuilder(suite: cot, data: Paths.bbh, only: ["navigate"], maxShots: 3).build().tasks[0]
        #expect(navigate.positiveExamples.allSatisfy { $0.output.hasPrefix("We start at the origin") && $0.output.contains("So the answer is ") })
        #expect(navigate.instances[0].input.hasSuffix("\nA: Let's think step by step.\n") && navigate.suite?.targetDelimiter == "")
        // The reasoning follows "Let's think step by step." after a space in this file (a newline elsewhere).
        let sports = try ChainOfThoughtPrompt(url: Paths.bbh.appendingPathComponent("cot-prompts/sports_understanding.txt"))
        #expect(sports.exemplars[0].reasoning.hasPrefix("Bam Adebayo is an American basketball player."))
        #expect(sports.exemplars.map(\.answer) == ["yes", "no", "yes"])
    }

    @Test("PromptSource held-out: every original-task template with answer choices is a task of its dataset, ranked over the choices",
          .enabled(if: Paths.hasPromptSource, "../shared/data/promptsource is absent"))
    func promptSourceHeldOut() throws {
        let data = try temporaryFolder("psheldout")
        defer { try? FileManager.default.removeItem(at: data) }
        let rows = Paths.packageRoot.appendingPathComponent("Tests/Fixtures/promptsource/datasets")
        // The fixtures' generated rows (dataset schemas) as the splits the suite evaluates.
        for (folder, split) in [("anli", "dev_r1"), ("super_glue/cb", "validation")] {
            let target = data.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: rows.appendingPathComponent(folder + "/train.jsonl"), to: target.appendingPathComponent(split + ".jsonl"))
        }
        var builder = SuiteBuilder(suite: try EvalSuite.named("promptsource-heldout"), data: data, only: ["anli_r1", "cb", "rte"],
                                   skipMissing: true, maxShots: 0)
        builder.templates = Paths.promptsource
        let (tasks, missing) = try builder.build()
        #expect(missing == ["rte"])
        let original = { (folder: String) in
            try PromptSourceTemplates.load(file: Paths.promptsource.appendingPathComponent(folder + "/templates.yaml"), folder: folder)
                .templates.filter { $0.originalTask && $0.answerChoices != nil }.count
        }
        #expect(tasks.filter { $0.categories == ["anli_r1"] }.count == (try original("anli")))
        #expect(tasks.filter { $0.categories == ["cb"] }.count == (try original("super_glue/cb")))
        for task in tasks {
            #expect(task.id.hasPrefix("promptsource_") && task.benchmark == "promptsource-heldout" && task.suite?.aggregate == .mean)
            #expect(!task.instances.isEmpty && task.instances.allSatisfy { $0.options?.indices.contains($0.gold ?? -1) == true && $0.split == .test })
        }
        builder.templates = nil
        #expect(throws: SuiteError.self) { try builder.build() }
    }
}
