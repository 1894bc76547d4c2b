import Foundation
import OPTSupport
import OPTData
import OPTTemplate

/// Reads a suite's data from a folder and renders every task's documents the way lm-evaluation-harness
/// does (`doc_to_text`, `doc_to_choice`, `doc_to_target` and their type rules), into bench tasks whose
/// instances are the test documents and whose positive examples are the few-shot pool, in order.
public struct SuiteBuilder {
    public var suite: EvalSuite
    /// The folder the layouts' paths are relative to.
    public var data: URL
    /// Only these tasks (by name); nil: all.
    public var only: [String]?
    /// Tasks whose data is absent are left out (and listed) instead of failing the build.
    public var skipMissing = false
    /// The most shots any run of the bench will ask for: the size of a carved few-shot pool.
    public var maxShots: Int
    /// New tokens at most per generation, instead of each task's `max_gen_toks`.
    public var maxNewTokens: Int?
    /// PromptSource's `templates` folder, for a suite of PromptSource datasets.
    public var templates: URL?

    public init(suite: EvalSuite, data: URL, only: [String]? = nil, skipMissing: Bool = false, maxShots: Int, maxNewTokens: Int? = nil) {
        self.suite = suite
        self.data = data
        self.only = only
        self.skipMissing = skipMissing
        self.maxShots = maxShots
        self.maxNewTokens = maxNewTokens
    }

    /// The suite's tasks that have data, and the names of those left out because theirs is missing.
    public func build() throws -> (tasks: [BenchTask], missing: [String]) {
        if let entries = suite.promptsource { return try buildPromptSource(entries) }
        if let superni = suite.superni { return try buildSuperNI(superni) }
        var selected = try suite.resolvedTasks()
        if let only {
            let unknown = only.filter { name in !selected.contains { $0.name == name || $0.datasetName == name } }
            guard unknown.isEmpty else { throw SuiteError.unknownTasks(suite: suite.suite, names: unknown) }
            selected = selected.filter { only.contains($0.name) || only.contains($0.datasetName) }
        }
        var tasks: [BenchTask] = [], missing: [String] = []
        for task in selected {
            guard let layout = try layout(for: task) else {
                if skipMissing { missing.append(task.name); continue }
                throw SuiteError.missingData(suite: suite.suite, task: task.name, folder: data.path,
                                             tried: try suite.layouts.map { try path($0.test, task) })
            }
            tasks.append(try build(task, layout))
        }
        return (tasks, missing)
    }

    /// Builds the suite and writes it as an evaluation bench (every task held out for test, no levels) at `directory`,
    /// replacing what is there; returns the manifest and the tasks left out for missing data.
    public func write(to directory: URL) throws -> (manifest: BenchManifest, missing: [String]) {
        let (tasks, missing) = try build()
        guard !tasks.isEmpty else {
            throw SuiteError.missingData(suite: suite.suite, task: "any", folder: data.path, tried: suite.layouts.map(\.test))
        }
        let bench = Bench(tasks: tasks, assignments: Dictionary(uniqueKeysWithValues: tasks.map { ($0.id, TaskAssignment(role: .test)) }),
                          allTasks: tasks.map(TaskSummary.init), spec: SplitSpec(name: "suite:" + suite.suite), seed: 0,
                          leakage: LeakageReport(ngram: 0, threshold: 0, pairs: [], trainTasks: 0, evalTasks: tasks.count,
                                                 evalInstances: tasks.reduce(0) { $0 + $1.instances.count }, trainWords: 0, evalWords: 0),
                          unmappedCategories: [])
        let manifest = try BenchStore.write(bench, sourceRecords: [.init(kind: "suite:" + suite.suite, path: data.path, tasks: tasks.count)],
                                            taxonomy: try Taxonomy.builtin(), to: directory, replace: true)
        return (manifest, missing)
    }

    /// A PromptSource suite: for each dataset, every original-task template with answer choices over the rows of the
    /// split, each question ranked over the choices its template gives (T0's and the paper's held-out evaluation).
    func buildPromptSource(_ entries: [PromptSourceEntry]) throws -> (tasks: [BenchTask], missing: [String]) {
        guard let templates else { throw SuiteError.badDefinition(suite: suite.suite, reason: "a PromptSource suite needs --templates") }
        if let only {
            let unknown = only.filter { name in !entries.contains { $0.name == name } }
            guard unknown.isEmpty else { throw SuiteError.unknownTasks(suite: suite.suite, names: unknown) }
        }
        var tasks: [BenchTask] = [], missing: [String] = []
        for entry in entries where only?.contains(entry.name) ?? true {
            let folder = data.appendingPathComponent(entry.folder, isDirectory: true)
            guard FileManager.default.fileExists(atPath: folder.path) else {
                if skipMissing { missing.append(entry.name); continue }
                throw SuiteError.missingData(suite: suite.suite, task: entry.name, folder: data.path, tried: [entry.folder])
            }
            let rows: DatasetSplit
            do { rows = try DatasetSplit.open(folder, split: entry.split) } catch {
                // A dataset saved without the evaluated split (ANLI with only dev_r1) is missing data too.
                if skipMissing, case .missingSplit = error.kind { missing.append(entry.name); continue }
                throw BenchError(error)
            }
            let collection = try PromptSourceTemplates.load(file: templates.appendingPathComponent(entry.folder + "/templates.yaml"),
                                                            folder: entry.folder)
            let chosen = collection.templates.filter { $0.originalTask }
            var perTemplate = [[TaskInstance]](repeating: [], count: chosen.count)
            try rows.forEachRow { index, row in
                for (number, rendered) in try PromptSourceSource.render(chosen, row: row, index: index, seed: 0, path: rows.root.path).enumerated() {
                    // Only questions with choices and a target among them can be ranked (as T0 evaluates).
                    guard let choices = rendered.answerChoices, let target = rendered.target, let gold = choices.firstIndex(of: target) else { continue }
                    perTemplate[number].append(TaskInstance(id: String(index), input: rendered.input, outputs: [target], options: choices,
                                                            gold: gold, split: .test))
                }
                return true
            }
            for (id, (template, instances)) in zip(PromptSourceSource.taskIDs(entry.name, chosen), zip(chosen, perTemplate)) where !instances.isEmpty {
                var task = BenchTask(id: id, benchmark: suite.suite, categories: [entry.name], sources: [entry.folder], instructionLevel: .instance,
                                     templates: [template.name], instances: instances, origin: "\(collection.file.path) × \(rows.root.path)")
                task.suite = SuitePrompt(suite: suite.suite, outputType: .multipleChoice, choicesAreContexts: false, description: "",
                                         targetDelimiter: " ", fewshotDelimiter: "\n\n", until: [], maxGenToks: 0, filters: [], metrics: ["acc"],
                                         aggregate: suite.aggregate, sampler: .firstN, drawsAroundQuestion: false, fewshotOrigin: nil)
                tasks.append(task)
            }
        }
        return (tasks, missing)
    }

    /// A Super-NI suite: the tasks of the split list (in its order) whose files are in the tasks folder, each with its
    /// first instances, every one generated (no options to rank: Super-NI scores the generation) and prompted with
    /// the Tk-Instruct encoding.
    func buildSuperNI(_ entry: SuperNISuite) throws -> (tasks: [BenchTask], missing: [String]) {
        let listed = try NIV2SplitLists.read(data.appendingPathComponent(entry.split))
        if let only {
            let unknown = only.filter { !listed.contains($0) }
            guard unknown.isEmpty else { throw SuiteError.unknownTasks(suite: suite.suite, names: unknown) }
        }
        let folder = data.appendingPathComponent(entry.tasks, isDirectory: true)
        var tasks: [BenchTask] = [], missing: [String] = []
        for name in listed where only?.contains(name) ?? true {
            let file = folder.appendingPathComponent(name + ".json")
            guard FileManager.default.fileExists(atPath: file.path) else {
                if skipMissing { missing.append(name); continue }
                throw SuiteError.missingData(suite: suite.suite, task: name, folder: data.path, tried: [entry.tasks + "/" + name + ".json"])
            }
            var task = try NIV2Source.task(file: file)
            task.benchmark = suite.suite
            task.instances = task.instances.prefix(entry.instances).map { instance in
                TaskInstance(id: instance.id, input: instance.input, outputs: instance.outputs, split: .test)
            }
            task.suite = SuitePrompt(suite: suite.suite, outputType: .generateUntil, choicesAreContexts: false, description: "",
                                     targetDelimiter: "", fewshotDelimiter: "", until: [], maxGenToks: maxNewTokens ?? entry.maxGenToks,
                                     filters: [], metrics: entry.metrics, aggregate: suite.aggregate, sampler: .firstN,
                                     drawsAroundQuestion: false, fewshotOrigin: nil, tkEncoding: TkEncoding(maxSourceLength: entry.maxSourceLength))
            tasks.append(task)
        }
        return (tasks, missing)
    }

    /// The first layout whose evaluated rows exist for `task`.
    func layout(for task: SuiteTask) throws -> SuiteLayout? {
        try suite.layouts.first { FileManager.default.fileExists(atPath: data.appendingPathComponent(try path($0.test, task)).path) }
    }

    func path(_ template: String, _ task: SuiteTask) throws -> String {
        do { return try Template(template, name: "path").render(["dataset_name": .string(task.datasetName)]) } catch {
            throw SuiteError.badDefinition(suite: suite.suite, reason: "path \(template.debugDescription): \(error)")
        }
    }

    func build(_ task: SuiteTask, _ layout: SuiteLayout) throws -> BenchTask {
        let renderer = try DocumentRenderer(task, suite: suite.suite)
        let testPath = try path(layout.test, task)
        var tested = try documents(testPath, split: task.testSplit ?? layout.testSplit ?? "test", layout, task)
        var pool: [Document], origin: String?
        var description = task.description
        if let fewshot = layout.fewshot {
            pool = try documents(try path(fewshot, task), split: task.fewshotSplit ?? layout.fewshotSplit ?? "train", layout, task)
        } else if let prompt = layout.fewshotPrompt {
            let file = try path(prompt, task)
            let parsed = try ChainOfThoughtPrompt(url: data.appendingPathComponent(file))
            // Documents as the test set's ({input, target}): the target is the final answer, or the reasoning for CoT.
            let reasoning = layout.fewshotTarget == .reasoning
            pool = parsed.exemplars.enumerated().map { index, exemplar in
                Document(file: file, row: index,
                         values: ["input": .string(exemplar.input), "target": .string(reasoning ? exemplar.reasoning : exemplar.answer)])
            }
            if description.isEmpty { description = parsed.description + "\n\n" }
        } else if layout.carveFewshot == true {
            let carved = min(maxShots, tested.count)
            pool = Array(tested.prefix(carved))
            tested.removeFirst(carved)
            origin = "the first \(carved) questions of \(testPath) (its test rows) are the few-shot examples and are not evaluated"
        } else {
            pool = []
        }
        if task.sampler == .firstN { pool = Array(pool.prefix(maxShots)) }
        let instances = try tested.enumerated().map { index, doc in try renderer.instance(doc, id: String(index)) }
        let examples = try pool.map { doc in try renderer.example(doc) }
        var bench = BenchTask(id: task.name, benchmark: suite.suite, categories: [task.category], instructionLevel: .instance,
                              positiveExamples: examples, instances: instances, origin: data.appendingPathComponent(testPath).path)
        let renderedDescription: String
        do {
            renderedDescription = try Template(description, name: "\(task.name).description", keepTrailingNewline: true, strictUndefined: true)
                .render(renderer.taskVariables)
        } catch {
            throw SuiteError.badDefinition(suite: suite.suite, reason: "\(task.name): description: \(error)")
        }
        bench.suite = SuitePrompt(suite: suite.suite, outputType: task.outputType, choicesAreContexts: try renderer.choicesAreContexts(tested.first),
                                  description: renderedDescription,
                                  targetDelimiter: task.targetDelimiter, fewshotDelimiter: task.fewshotDelimiter, until: task.until,
                                  maxGenToks: maxNewTokens ?? task.maxGenToks, filters: task.filters, metrics: task.metrics, aggregate: suite.aggregate,
                                  sampler: task.sampler,
                                  // lm-eval's configs leave test_split unset exactly for the tasks evaluated on validation, and its
                                  // few-shot split unset too: "equal", so it draws around the question.
                                  drawsAroundQuestion: (task.testSplit ?? layout.testSplit) == "validation",
                                  fewshotOrigin: origin)
        return bench
    }

    /// The rows of a file or dataset folder that the layout keeps, as documents.
    func documents(_ relative: String, split: String, _ layout: SuiteLayout, _ task: SuiteTask) throws -> [Document] {
        let url = data.appendingPathComponent(relative)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw SuiteError.missingData(suite: suite.suite, task: task.name, folder: data.path, tried: [relative])
        }
        let source: any RowSource = isFolder.boolValue ? try DatasetSplit.open(url, split: split) : try DatasetFile.open(url, columns: layout.columns)
        let keep = try layout.where.map { try expression($0, "where") }
        let makeDoc = try layout.doc.map { try DocumentMaker($0, name: "\(layout.name).doc", suite: suite.suite) }
        let processDoc = try task.doc.map { try DocumentMaker($0, name: "\(task.name).doc", suite: suite.suite) }
        let taskVariables: [String: TemplateValue] = ["dataset_name": .string(task.datasetName)]
        var documents: [Document] = []
        try source.forEachRow { index, row in
            var variables = taskVariables.merging(TemplateValue.variables(row)) { $1 }
            do {
                if let keep, !(try keep.evaluate(variables).isTruthy) { return true }
                variables = try makeDoc?.document(variables) ?? TemplateValue.variables(row)
                if let processDoc { variables = try processDoc.document(variables) }
            } catch let error as TemplateError {
                throw SuiteError.badRow(file: url.path, row: index, task: task.name, reason: "\(error)")
            } catch let error as DocumentMaker.NotADict {
                throw SuiteError.badRow(file: url.path, row: index, task: task.name, reason: "`doc` gave \(error.value), not a dict")
            }
            documents.append(Document(file: url.path, row: index, values: variables))
            return true
        }
        return documents
    }

    func expression(_ source: String, _ what: String) throws -> TemplateExpression {
        do { return try TemplateExpression(source, name: what) } catch {
            throw SuiteError.badDefinition(suite: suite.suite, reason: "\(what) \(source.debugDescription): \(error)")
        }
    }
}

/// A layout's or a task's `doc`: an expression giving the document, or a template whose output is its Python literal.
struct DocumentMaker {
    struct NotADict: Error { var value: String }

    let expression: TemplateExpression?
    let template: Template?

    init(_ source: String, name: String, suite: String) throws {
        do {
            if source.contains("{{") || source.contains("{%") {
                template = try Template(source, name: name, keepTrailingNewline: true, strictUndefined: true)
                expression = nil
            } else {
                expression = try TemplateExpression(source, name: name)
                template = nil
            }
        } catch {
            throw SuiteError.badDefinition(suite: suite, reason: "\(name) \(source.debugDescription): \(error)")
        }
    }

    func document(_ variables: [String: TemplateValue]) throws -> [String: TemplateValue] {
        let value = try template.map { try TemplateExpression($0.render(variables), name: $0.name).evaluate([:]) }
            ?? expression!.evaluate(variables)
        guard let entries = value.entries else { throw NotADict(value: value.text) }
        return entries
    }
}

/// One lm-eval document: a row as the templates see it, and where it was read.
struct Document {
    var file: String
    var row: Int
    var values: [String: TemplateValue]
}

/// lm-evaluation-harness's `doc_to_text`, `doc_to_choice` and `doc_to_target` for one task: a setting that names a
/// column of the document is that column; otherwise it is a template, and a rendered target of digits is an index
/// into the choices, a rendered choice list is read as a Python literal.
struct DocumentRenderer {
    let task: SuiteTask
    let text: Template?
    let target: Template?
    let choices: [Template]?
    let choiceList: Template?
    let taskVariables: [String: TemplateValue]

    init(_ task: SuiteTask, suite: String) throws {
        self.task = task
        taskVariables = ["dataset_name": .string(task.datasetName)]
        func compile(_ source: String, _ field: String) throws -> Template {
            do { return try Template(source, name: "\(task.name).\(field)", keepTrailingNewline: true, strictUndefined: true) } catch {
                throw SuiteError.badDefinition(suite: suite, reason: "\(task.name): \(field): \(error)")
            }
        }
        text = try compile(task.docToText, "doc_to_text")
        target = try compile(task.docToTarget, "doc_to_target")
        switch task.docToChoice {
        case .list(let items)?:
            choices = try items.enumerated().map { try compile($1, "doc_to_choice[\($0)]") }
            choiceList = nil
        case .expression(let source)?:
            choices = nil
            choiceList = try compile(source, "doc_to_choice")
        case nil:
            choices = nil
            choiceList = nil
        }
    }

    /// The test document as an instance: its text, its choices and the index of the right one, or its target.
    func instance(_ doc: Document, id: String) throws -> TaskInstance {
        let (input, options, gold, answer) = try render(doc)
        return TaskInstance(id: id, input: input, outputs: [answer], options: options, gold: gold, split: .test)
    }

    /// Whether the task's texts are indices into context choices (lm-eval's multiple inputs), judged on its first document.
    func choicesAreContexts(_ doc: Document?) throws -> Bool {
        guard let doc, task.docToChoice != nil else { return false }
        if let value = column(task.docToText, doc) { return value.int != nil }
        do { return try parsedTarget(try text!.render(doc.values), hasChoices: true, lists: false).int != nil } catch {
            throw SuiteError.badRow(file: doc.file, row: doc.row, task: task.name, reason: "\(error)")
        }
    }

    /// A few-shot document as lm-eval shows it: its text and the text of its target.
    func example(_ doc: Document) throws -> TaskExample {
        let (input, _, _, answer) = try render(doc)
        return TaskExample(input: input, output: answer)
    }

    /// A document's text, choices, the right choice and the target's text. When the text is an index (lm-eval's
    /// "multiple inputs": Winogrande), the choices are contexts, the index the right one, and the target their
    /// shared continuation.
    func render(_ doc: Document) throws -> (text: String, choices: [String]?, gold: Int?, answer: String) {
        func fail(_ reason: String) -> SuiteError { .badRow(file: doc.file, row: doc.row, task: task.name, reason: reason) }
        do {
            let choices = try renderChoices(doc)
            let text = try column(task.docToText, doc) ?? parsedTarget(try self.text!.render(doc.values), hasChoices: choices != nil, lists: false)
            if let index = text.int, let choices {
                guard choices.indices.contains(index) else { throw fail("text index \(index) is outside the \(choices.count) contexts") }
                let target = try column(task.docToTarget, doc) ?? .string(try self.target!.render(doc.values))
                return (choices[index], choices, index, target.text)
            }
            let target = try column(task.docToTarget, doc) ?? parsedTarget(try self.target!.render(doc.values), hasChoices: choices != nil)
            guard let choices else { return (text.text, nil, nil, target.items?.first?.text ?? target.text) }
            let gold: Int
            if let index = target.int {
                guard choices.indices.contains(index) else { throw fail("target \(index) is outside the \(choices.count) choices") }
                gold = index
            } else if let index = choices.firstIndex(of: target.text) {
                gold = index
            } else {
                throw fail("target \(target.text.debugDescription) is not one of the choices \(choices)")
            }
            return (text.text, choices, gold, choices[gold])
        } catch let error as TemplateError {
            throw fail("\(error)")
        }
    }

    /// The document's column when `setting` names one (lm-eval checks this before treating it as a template).
    func column(_ setting: String, _ doc: Document) -> TemplateValue? { doc.values[setting] }

    func renderChoices(_ doc: Document) throws -> [String]? {
        if let choices { return try choices.map { try $0.render(doc.values) } }
        guard let choiceList, case .expression(let source)? = task.docToChoice else { return nil }
        let value: TemplateValue, shown: String
        if let named = column(source, doc) {
            (value, shown) = (named, named.text)
        } else {
            shown = try choiceList.render(doc.values)
            value = try literal(shown)
        }
        guard let items = value.items else {
            throw SuiteError.badRow(file: doc.file, row: doc.row, task: task.name,
                                    reason: "doc_to_choice gave \(shown.debugDescription), not a list (a column or an expression of one)")
        }
        return items.map(\.text)
    }

    /// lm-eval's reading of a rendered text or target: digits are an index when there are choices, `[…]` a list
    /// (targets only).
    func parsedTarget(_ rendered: String, hasChoices: Bool, lists: Bool = true) throws -> TemplateValue {
        if hasChoices, !rendered.isEmpty, rendered.unicodeScalars.allSatisfy({ $0.properties.numericType == .decimal }), let index = Int(rendered) {
            return .int(index)
        }
        if lists, rendered.count >= 2, rendered.first == "[", rendered.last == "]", let list = try? literal(rendered) { return list }
        return .string(rendered)
    }

    /// Python's `ast.literal_eval` of a rendered value (the same literal syntax as Jinja's).
    func literal(_ rendered: String) throws -> TemplateValue {
        try TemplateExpression(rendered, name: "\(task.name).literal").evaluate([:])
    }
}

/// A BIG-Bench Hard chain-of-thought prompt file: a canary line, `-----`, the task description, then exemplars
/// `Q: …\nA: Let's think step by step.\n… So the answer is X.` separated by blank lines.
struct ChainOfThoughtPrompt {
    struct Exemplar {
        var input: String
        /// The reasoning after "Let's think step by step.", up to and with the final answer sentence.
        var reasoning: String
        /// X of "So the answer is X.".
        var answer: String
    }

    var description: String
    var exemplars: [Exemplar]

    init(url: URL) throws {
        let text: String
        do { text = try UTF8File.read(url) } catch {
            throw BenchError.unreadableFile(path: url.path, reason: error.reason)
        }
        func fail(_ reason: String) -> BenchError { .malformedFile(path: url.path, line: nil, reason: reason) }
        guard let rule = text.range(of: "-----\n") else { throw fail("no ----- line after the canary") }
        let body = String(text[rule.upperBound...]).trimmingCharacters(in: .newlines)
        var parts = body.components(separatedBy: "\n\nQ: ")
        guard parts.count >= 2 else { throw fail("no exemplar (\"Q: …\") after the description") }
        description = parts.removeFirst()
        exemplars = try parts.map { part in
            guard let answerStart = part.range(of: "\nA: ") else { throw fail("an exemplar without \"A: \"") }
            let input = String(part[..<answerStart.lowerBound])
            var reasoning = String(part[answerStart.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
            // After a newline in most files, a space in sports_understanding's.
            let opening = "Let's think step by step."
            if reasoning.hasPrefix(opening) { reasoning = String(reasoning.dropFirst(opening.count).drop { $0 == " " || $0 == "\n" }) }
            guard let final = reasoning.range(of: "So the answer is ", options: .backwards) else {
                throw fail("an exemplar without \"So the answer is\"")
            }
            var answer = String(reasoning[final.upperBound...])
            if answer.hasSuffix(".") { answer.removeLast() }
            return Exemplar(input: input, reasoning: reasoning, answer: answer)
        }
    }
}
