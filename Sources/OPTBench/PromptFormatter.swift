import OPTSupport
import OPTTokenizer

/// A prompt ready for a model: the source text, the target, and for tasks with answer options the
/// candidates and which of them is right.
public struct FormattedExample: Codable, Sendable, Equatable {
    public var id: String
    public var src: String
    /// The training target (the first reference).
    public var tgt: String
    /// Every reference, as the metrics compare against them.
    public var references: [String]
    /// Rank-classification candidates (each as it would follow `src`), or nil for generation tasks.
    public var candidates: [String]?
    /// Index in `candidates` of the first candidate that is a reference.
    public var gold: Int?
    /// How many demonstrations `src` holds.
    public var shots: Int
    /// Where each demonstration's answer lies in `src` (UTF-8 offsets; OPT-IML style only, nil without
    /// demonstrations), so that training can put a loss on them (MetaICL's standard loss).
    public var demonstrationAnswers: [Range<Int>]?
}

/// The Tk-Instruct / Super-NI encoding, byte-identical to `DataCollatorForNI` (yizhongw/Tk-Instruct,
/// `src/ni_collator.py`): optional task name, "Definition: …", positive and negative examples
/// (with explanations), then "Now complete the following example -\nInput: ….\nOutput: ".
public struct TkEncoding: Codable, Sendable, Equatable {
    public var addTaskName = false
    public var addDefinition = true
    public var positiveExamples = 2
    public var negativeExamples = 0
    public var explanations = false
    /// The collator's `max_source_length` in tokens (BOS included); examples that would exceed it are
    /// dropped, and a source still too long is cut on the right. Needs a tokenizer; nil: no limit.
    public var maxSourceLength: Int?

    public init(addTaskName: Bool = false, addDefinition: Bool = true, positiveExamples: Int = 2, negativeExamples: Int = 0,
                explanations: Bool = false, maxSourceLength: Int? = nil) {
        self.addTaskName = addTaskName
        self.addDefinition = addDefinition
        self.positiveExamples = positiveExamples
        self.negativeExamples = negativeExamples
        self.explanations = explanations
        self.maxSourceLength = maxSourceLength
    }

    enum CodingKeys: String, CodingKey {
        case explanations
        case addTaskName = "add_task_name"
        case addDefinition = "add_definition"
        case positiveExamples = "positive_examples"
        case negativeExamples = "negative_examples"
        case maxSourceLength = "max_source_length"
    }
}

/// The OPT-IML encoding (§2.2, §2.4 of the paper): instruction, then k demonstrations and the query,
/// each an input followed by an answer delimiter (sampled per prompt unless the text ends with ":").
public struct OPTIMLEncoding: Sendable, Equatable {
    /// The paper's delimiters.
    public static let delimiters = ["\nAnswer:", " Answer:", "\nA:", " A:", "\nOutput:", " Output:", "\nanswer:", "\noutput:"]

    public var shots = 0
    /// Between demonstrations, and between the last one and the query (MetaICL's "\n\n\n").
    public var separator = "\n\n\n"
    public var options: OptionsStyle = .auto
    /// A fixed delimiter instead of a sampled one.
    public var delimiter: String?
    /// Token budget of `src` (BOS not counted): demonstrations are dropped first, farthest from the
    /// query first, then the text is cut on the left. Needs a tokenizer; nil: no limit.
    public var maxTokens: Int?

    public init(shots: Int = 0, separator: String = "\n\n\n", options: OptionsStyle = .auto, delimiter: String? = nil,
                maxTokens: Int? = nil) {
        self.shots = shots
        self.separator = separator
        self.options = options
        self.delimiter = delimiter
        self.maxTokens = maxTokens
    }
}

/// How answer options are shown in an OPT-IML prompt.
public enum OptionsStyle: String, Sendable, CaseIterable {
    /// FLAN's style for FLAN tasks, inline for CrossFit, none for the rest (Super-NI definitions already name their labels).
    case auto
    /// "\n\nOPTIONS:\n- no\n- yes"
    case flan
    /// "\nOptions: (A) no (B) yes"
    case inline
    case none
}

/// A prompt encoding.
public enum PromptStyle: Sendable, Equatable {
    case tk(TkEncoding)
    case optIML(OPTIMLEncoding)
    /// lm-evaluation-harness's few-shot context for a suite task: its description, the first `shots` examples of
    /// its few-shot pool (each text, target delimiter, target, few-shot delimiter), then the document's text.
    case suite(shots: Int)
}

/// Turns (task, instance, demonstrations, style, seed) into a `FormattedExample`.
public struct PromptFormatter: Sendable {
    public var style: PromptStyle
    public var seed: UInt64
    /// Counts tokens for the length limits (required when the style sets one).
    public var tokenizer: BPETokenizer?

    public init(style: PromptStyle, seed: UInt64 = 0, tokenizer: BPETokenizer? = nil) {
        self.style = style
        self.seed = seed
        self.tokenizer = tokenizer
    }

    public func format(_ instance: TaskInstance, of task: BenchTask) -> FormattedExample {
        switch style {
        case let .tk(encoding): return tk(instance, task, encoding)
        case let .optIML(encoding): return optIML(instance, task, encoding)
        case let .suite(shots): return suite(instance, task, shots: shots)
        }
    }

    // MARK: Suites (lm-evaluation-harness)

    private func suite(_ instance: TaskInstance, _ task: BenchTask, shots: Int) -> FormattedExample {
        formatSuite(instance, of: task, exemplars: Array(task.positiveExamples.prefix(shots)))
    }

    /// lm-evaluation-harness's context for a suite task's question with these few-shot examples
    /// (`SuitePrompt.exemplars` chooses them as its sampler does).
    public func formatSuite(_ instance: TaskInstance, of task: BenchTask, exemplars shown: [TaskExample]) -> FormattedExample {
        let prompt = task.suite
        let targetDelimiter = prompt?.targetDelimiter ?? " ", fewshotDelimiter = prompt?.fewshotDelimiter ?? "\n\n"
        let examples = shown.map { $0.input + targetDelimiter + $0.output + fewshotDelimiter }.joined()
        let options = task.options(for: instance)
        let prefix = (prompt?.description ?? "") + examples
        if prompt?.choicesAreContexts == true {
            // Each candidate is a whole context; the continuation they share is `tgt`.
            return FormattedExample(id: instance.id, src: prefix + instance.input, tgt: targetDelimiter + instance.outputs[0],
                                    references: instance.outputs, candidates: options?.map { prefix + $0 }, gold: instance.gold, shots: shown.count)
        }
        return FormattedExample(id: instance.id, src: prefix + instance.input,
                                tgt: targetDelimiter + instance.outputs[0], references: instance.outputs,
                                candidates: options?.map { targetDelimiter + $0 },
                                gold: instance.gold ?? options.flatMap { Self.gold($0, instance.outputs) }, shots: shown.count)
    }

    // MARK: Tk-Instruct

    private func tk(_ instance: TaskInstance, _ task: BenchTask, _ encoding: TkEncoding) -> FormattedExample {
        // Mirrors the collator statement by statement, so that the bytes agree.
        let limit = encoding.maxSourceLength
        func fits(_ text: String) -> Bool {
            guard let limit, let tokenizer else { return true }
            return tokenizer.encode(text).count <= limit
        }
        let taskInput = Self.endingInPunctuation("Now complete the following example -\nInput: " + PythonText.strip(instance.input)) + "\nOutput: "
        let taskName = encoding.addTaskName ? task.id + ". " : ""
        var definition = ""
        if encoding.addDefinition {
            definition = Self.endingInPunctuation("Definition: " + PythonText.strip(task.definition.first ?? "")) + "\n\n"
        }
        func block(_ kind: String, _ number: Int, _ example: TaskExample) -> String {
            var text = Self.endingInPunctuation(" \(kind) Example \(number) -\nInput: " + PythonText.strip(example.input)) + "\n"
            text = Self.endingInPunctuation(text + " Output: " + PythonText.strip(example.output)) + "\n"
            if encoding.explanations, let explanation = example.explanation {
                text = Self.endingInPunctuation(text + " Explanation: " + PythonText.strip(explanation)) + "\n"
            }
            return text + "\n"
        }
        var positives: [String] = []
        for (index, example) in task.positiveExamples.prefix(encoding.positiveExamples).enumerated() {
            let text = block("Positive", index + 1, example)
            guard fits(definition + positives.joined(separator: " ") + text + taskInput) else { break }
            positives.append(text)
        }
        var negatives: [String] = []
        for (index, example) in task.negativeExamples.prefix(encoding.negativeExamples).enumerated() {
            let text = block("Negative", index + 1, example)
            guard fits(definition + positives.joined(separator: " ") + negatives.joined(separator: " ") + text + taskInput) else { break }
            negatives.append(text)
        }
        var source = taskName + definition + positives.joined() + negatives.joined() + taskInput
        if let limit, let tokenizer {
            let ids = tokenizer.encode(source)
            if ids.count > limit { source = tokenizer.decode(Array(ids.prefix(limit)), skipSpecialTokens: true) }
        }
        let options = task.options(for: instance)
        return FormattedExample(id: instance.id, src: source, tgt: instance.outputs[0], references: instance.outputs,
                                candidates: options, gold: options.flatMap { Self.gold($0, instance.outputs) },
                                shots: positives.count + negatives.count)
    }

    /// The collator's `if not text[-1] in string.punctuation: text += "."`.
    static func endingInPunctuation(_ text: String) -> String {
        guard let last = text.unicodeScalars.last, PythonText.isPunctuation(last) else { return text + "." }
        return text
    }

    // MARK: OPT-IML

    private func optIML(_ instance: TaskInstance, _ task: BenchTask, _ encoding: OPTIMLEncoding) -> FormattedExample {
        let delimiterChoice = encoding.delimiter
            ?? OPTIMLEncoding.delimiters[Int(StableHash.of(seed, "delimiter", task.id, instance.id) % UInt64(OPTIMLEncoding.delimiters.count))]
        let optionsStyle = encoding.options == .auto ? Self.autoOptions(task.benchmark) : encoding.options
        func query(_ item: TaskInstance) -> String {
            var text = PythonText.strip(item.input)
            if let options = task.options(for: item) {
                switch optionsStyle {
                case .flan: text += "\n\nOPTIONS:\n" + options.map { "- " + $0 }.joined(separator: "\n")
                case .inline: text += "\nOptions: " + options.enumerated().map { "(\(Self.letter($0.offset))) \($0.element)" }.joined(separator: " ")
                case .none, .auto: break
                }
            }
            return text.hasSuffix(":") ? text : text + delimiterChoice
        }
        let instruction = task.instructionLevel == .task ? PythonText.strip(task.definition.first ?? "") : ""
        var shown = self.demonstrations(for: instance, of: task, count: encoding.shots)
            .map { (query: query($0), answer: " " + PythonText.strip($0.outputs[0])) }
        // Instruction, then each demonstration and the query, separated; answers' offsets noted.
        func source() -> (text: String, answers: [Range<Int>]) {
            var text = instruction.isEmpty ? "" : instruction + "\n\n", answers: [Range<Int>] = []
            for demonstration in shown {
                text += demonstration.query
                let start = text.utf8.count
                text += demonstration.answer
                answers.append(start..<text.utf8.count)
                text += encoding.separator
            }
            return (text + query(instance), answers)
        }
        var (src, answers) = source()
        if let budget = encoding.maxTokens, let tokenizer {
            while !shown.isEmpty, tokenizer.encode(src, addBOS: false).count > budget {
                shown.removeFirst()
                (src, answers) = source()
            }
            let ids = tokenizer.encode(src, addBOS: false)
            if ids.count > budget { src = tokenizer.decode(Array(ids.suffix(budget))) }
        }
        let options = task.options(for: instance)
        return FormattedExample(id: instance.id, src: src, tgt: " " + PythonText.strip(instance.outputs[0]),
                                references: instance.outputs, candidates: options?.map { " " + $0 },
                                gold: options.flatMap { Self.gold($0, instance.outputs) }, shots: shown.count,
                                demonstrationAnswers: shown.isEmpty ? nil : answers)
    }

    /// k demonstrations for a query: drawn (seeded per query) from the task's training instances, or for
    /// a held-out task from its demonstration pool; where those are too few, from the other instances
    /// of the query's own split. Never the query itself, nor an instance with the same input.
    func demonstrations(for query: TaskInstance, of task: BenchTask, count: Int) -> [TaskInstance] {
        guard count > 0 else { return [] }
        let usable = { (candidate: TaskInstance) in candidate.id != query.id && candidate.input != query.input }
        let primary = task.instances.filter { ($0.split == .train || $0.split == .demonstrations) && usable($0) }
        let fallback = task.instances.filter { $0.split == query.split && $0.split != .train && $0.split != .demonstrations && usable($0) }
        let salt = task.id + "\u{0}" + query.id
        let drawn = StableHash.ordered(primary, seed: seed, salt: salt, key: \.id)
            + StableHash.ordered(fallback, seed: seed, salt: salt, key: \.id)
        return Array(drawn.prefix(count))
    }

    static func autoOptions(_ benchmark: String) -> OptionsStyle {
        switch benchmark {
        case "flan": return .flan
        case "crossfit": return .inline
        default: return .none
        }
    }

    static func letter(_ index: Int) -> String {
        index < 26 ? String(UnicodeScalar(UInt8(65 + index))) : "\(index + 1)"
    }

    static func gold(_ options: [String], _ outputs: [String]) -> Int? { options.firstIndex(where: outputs.contains) }
}
