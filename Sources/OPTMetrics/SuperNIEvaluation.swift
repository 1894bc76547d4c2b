import Foundation
import OPTSupport
import OPTTokenizer

/// Why a Super-NI evaluation could not run. Every case about input names the file and the 1-based
/// line.
public enum SuperNIEvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadableFile(path: String, reason: String)
    /// The line is not valid UTF-8.
    case invalidUTF8(file: String, line: Int)
    /// The line is not one JSON object.
    case malformedJSON(file: String, line: Int, reason: String)
    /// A required key is absent (`id`, `prediction`, `references`; `task_id` / `task_category`
    /// when the first reference of the track has them).
    case missingField(file: String, line: Int, field: String)
    /// A key holds a value of the wrong type or an unusable value.
    case invalidField(file: String, line: Int, field: String, reason: String)
    /// A prediction's id is not among the references (only with `Options.unknownPredictions = .fail`).
    case unknownPrediction(file: String, line: Int, id: String)
    /// A reference has no prediction (only with `Options.missingPredictions = .fail`).
    case missingPrediction(file: String, line: Int, id: String)
    /// A reference is on the xlingual track but the evaluation has no GPT-2 tokenizer.
    case noCrossLingualTokenizer(file: String, line: Int)

    /// A one-line explanation naming the file and line.
    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "\(path): cannot read the file: \(reason)"
        case let .invalidUTF8(file, line):
            return "\(file):\(line): the line is not valid UTF-8"
        case let .malformedJSON(file, line, reason):
            return "\(file):\(line): not a JSON object: \(reason)"
        case let .missingField(file, line, field):
            return "\(file):\(line): no \"\(field)\" key"
        case let .invalidField(file, line, field, reason):
            return "\(file):\(line): \"\(field)\" \(reason)"
        case let .unknownPrediction(file, line, id):
            return "\(file):\(line): prediction for id \(id), which is not in the references"
        case let .missingPrediction(file, line, id):
            return "\(file):\(line): no prediction for reference id \(id)"
        case let .noCrossLingualTokenizer(file, line):
            return "\(file):\(line): a reference on the xlingual track, but no GPT-2 tokenizer was given for its ROUGE-L"
        }
    }
}

/// Super-NaturalInstructions' automatic evaluation (`eval/automatic/evaluation.py` of
/// allenai/natural-instructions): exact match and ROUGE-L per track, per task category and per
/// task, with the script's keys, grouping, order and rounding.
///
/// Predictions are JSON Lines of `{"id", "prediction"}`, references JSON Lines of `{"id",
/// "references", "task_id"?, "task_category"?, "track"?}`. As in the script:
///
/// - references are keyed by id: a repeated id keeps the position of its first line and the
///   content of its last; a missing `track` means `"default"`, and a track other than `"default"`
///   and `"xlingual"` leaves the instance out (`Report.ignoredReferences`);
/// - predictions are keyed by id, the last line winning; a prediction whose id is not a reference
///   is ignored and a reference without a prediction is scored against `""` (both listed in the
///   report; `Options` can make either an error instead);
/// - the metrics are `100 · mean` rounded to 4 decimals like Python's `round(v, 4)`; the keys are
///   `exact_match_<track>_track`, `rougeL_<track>_track`, then, when the track's first reference
///   has a `task_category`, `exact_match_for_<category>_<track>_track` and `rougeL_for_…` per
///   category (lowercased, whitespace runs joined by `_`) in order of first appearance, then the
///   same per `task_id`; a later key equal to an earlier one overwrites its value in place;
/// - the default track's ROUGE-L uses rouge_score's stemmed tokenizer, the xlingual track's the
///   GPT-2 tokens (`RougeL.Tokenization.gpt2`).
///
/// Where the script would crash this reports an error instead (malformed lines, missing keys,
/// empty or non-string references, a later reference of a track without the track's grouping
/// keys), and a track with no instances is left out of the report (the script divides by zero).
public struct SuperNIEvaluation: Sendable {
    /// The two tracks of the benchmark, in the order the script evaluates them.
    public enum Track: String, Sendable, Hashable, CaseIterable {
        /// English outputs, rouge_score's default tokenizer with stemming.
        case `default`
        /// Cross-lingual outputs, GPT-2 BPE tokens.
        case xlingual
    }

    /// An instance id: JSON strings and JSON integers are distinct ids, as Python dict keys.
    public enum InstanceID: Sendable, Hashable, CustomStringConvertible {
        /// A string id (compared code point by code point).
        case string(String)
        /// An integer id.
        case integer(Int)

        /// Equal when the same kind and the same code points or value.
        public static func == (lhs: InstanceID, rhs: InstanceID) -> Bool {
            switch (lhs, rhs) {
            case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
            case let (.integer(a), .integer(b)): return a == b
            default: return false
            }
        }

        /// Hashes the kind and the UTF-8 bytes or the value.
        public func hash(into hasher: inout Hasher) {
            switch self {
            case .string(let text):
                hasher.combine(0)
                for byte in text.utf8 { hasher.combine(byte) }
            case .integer(let value):
                hasher.combine(1)
                hasher.combine(value)
            }
        }

        /// The id as JSON would write it.
        public var description: String {
            switch self {
            case .string(let text): return PythonJSON.quote(text)
            case .integer(let value): return String(value)
            }
        }
    }

    /// One line of the references file.
    public struct Reference: Sendable, Hashable {
        /// The instance id.
        public var id: InstanceID
        /// The acceptable outputs (at least one).
        public var references: [String]
        /// `task_id`, when the line has one.
        public var taskID: String?
        /// `task_category`, when the line has one.
        public var taskCategory: String?
        /// `track`: `"default"` when the line has none; nil when it held a non-string (the script
        /// then matches it to no track).
        public var track: String?
        /// The 1-based line number (0 for references not read from a file).
        public var line: Int

        /// A reference from its parts.
        public init(id: InstanceID, references: [String], taskID: String? = nil, taskCategory: String? = nil,
                    track: String? = Track.default.rawValue, line: Int = 0) {
            self.id = id
            self.references = references
            self.taskID = taskID
            self.taskCategory = taskCategory
            self.track = track
            self.line = line
        }
    }

    /// One line of the predictions file.
    public struct Prediction: Sendable, Hashable {
        /// The instance id.
        public var id: InstanceID
        /// The model's output.
        public var prediction: String
        /// The 1-based line number (0 for predictions not read from a file).
        public var line: Int

        /// A prediction from its parts.
        public init(id: InstanceID, prediction: String, line: Int = 0) {
            self.id = id
            self.prediction = prediction
            self.line = line
        }
    }

    /// A prediction with its references: the unit `compute_metrics` scores.
    public struct Example: Sendable, Hashable {
        /// The model's output.
        public var prediction: String
        /// The acceptable outputs.
        public var references: [String]

        /// An example from its parts.
        public init(prediction: String, references: [String]) {
            self.prediction = prediction
            self.references = references
        }
    }

    /// `compute_metrics`' result: percentages rounded to 4 decimals.
    public struct Metrics: Sendable, Hashable {
        /// `100 · mean(max exact match over references)`.
        public var exactMatch: Double
        /// `100 · mean(max ROUGE-L F over references)`.
        public var rougeL: Double

        /// Metrics from their values.
        public init(exactMatch: Double, rougeL: Double) {
            self.exactMatch = exactMatch
            self.rougeL = rougeL
        }
    }

    /// The metrics of one group of `compute_grouped_metrics`.
    public struct GroupMetrics: Sendable, Hashable {
        /// The group (a normalized category or a task id).
        public var group: String
        /// Its metrics.
        public var metrics: Metrics
    }

    /// What to do where the script is lenient.
    public struct Options: Sendable, Hashable {
        /// A reference without a prediction: scored as `""` (the script) or an error.
        public var missingPredictions: Policy
        /// A prediction for an id that is not a reference: ignored (the script) or an error.
        public var unknownPredictions: Policy

        /// Tolerate (the script's behaviour) or refuse.
        public enum Policy: Sendable, Hashable {
            /// Do what the script does.
            case tolerate
            /// Throw an error naming the file and line.
            case fail
        }

        /// Options; the defaults are the script's behaviour.
        public init(missingPredictions: Policy = .tolerate, unknownPredictions: Policy = .tolerate) {
            self.missingPredictions = missingPredictions
            self.unknownPredictions = unknownPredictions
        }
    }

    /// The script's `all_results`, in its order, and what it would have printed about its input.
    public struct Report: Sendable, Hashable {
        /// One result.
        public struct Entry: Sendable, Hashable {
            /// The key, e.g. `rougeL_for_task1344_glue_entailment_classification_default_track`.
            public var key: String
            /// The value, a percentage rounded to 4 decimals.
            public var value: Double
        }

        /// The results in the order the script's dict holds them.
        public private(set) var entries: [Entry] = []
        private var positions: [String: Int] = [:]
        /// Per track, the reference ids scored against `""` because they had no prediction.
        public internal(set) var missingPredictions: [Track: [InstanceID]] = [:]
        /// Prediction ids that are not references (ignored), in file order.
        public internal(set) var unknownPredictions: [InstanceID] = []
        /// Reference ids on neither track (ignored), in file order.
        public internal(set) var ignoredReferences: [InstanceID] = []

        /// The value of `key`, if the report has it.
        public subscript(key: String) -> Double? {
            positions[key].map { entries[$0].value }
        }

        /// The keys in order.
        public var keys: [String] { entries.map(\.key) }

        /// Sets `key` as a Python dict assignment does: a new key goes last, an existing one keeps
        /// its place.
        mutating func set(_ key: String, _ value: Double) {
            if let position = positions[key] {
                entries[position].value = value
            } else {
                positions[key] = entries.count
                entries.append(Entry(key: key, value: value))
            }
        }

        /// The report as the script writes `--output_file`: `json.dump(all_results, f, indent=2)`
        /// (no trailing newline, non-ASCII escaped).
        public var json: String {
            guard !entries.isEmpty else { return "{}" }
            let lines = entries.map { "  \(PythonJSON.quote($0.key)): \(PythonJSON.float($0.value))" }
            return "{\n" + lines.joined(separator: ",\n") + "\n}"
        }
    }

    /// What the script does where it is lenient.
    public var options: Options
    /// The default track's scorer.
    public let defaultRouge: RougeL
    /// The xlingual track's scorer, nil without a GPT-2 tokenizer.
    public let crossLingualRouge: RougeL?

    /// An evaluation; `crossLingualTokenizer` is the GPT-2 tokenizer for the xlingual track (the
    /// script uses `gpt2`'s; `../shared/data/gpt2-tokenizer` has the same vocabulary and merges).
    public init(crossLingualTokenizer: BPETokenizer? = nil, options: Options = Options()) {
        self.options = options
        defaultRouge = RougeL(useStemmer: true)
        crossLingualRouge = crossLingualTokenizer.map { RougeL(crossLingual: $0) }
    }

    // MARK: - Files

    /// Evaluates the two JSON Lines files, as `python evaluation.py --prediction_file P --reference_file R`.
    public func evaluate(predictionsFile: URL, referencesFile: URL) throws -> Report {
        let predictionsName = predictionsFile.path
        let referencesName = referencesFile.path
        let references = try Self.readReferences(Self.read(referencesFile), file: referencesName)
        let predictions = try Self.readPredictions(Self.read(predictionsFile), file: predictionsName)
        return try evaluate(predictions: predictions, references: references,
                            predictionsFile: predictionsName, referencesFile: referencesName)
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw SuperNIEvaluationError.unreadableFile(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    /// Parses a references file (`file` names it in errors).
    public static func readReferences(_ data: Data, file: String) throws -> [Reference] {
        try JSONLines.objects(data, file: file).map { line, object in
            let id = try instanceID(object, file: file, line: line)
            guard let value = object["references"] else {
                throw SuperNIEvaluationError.missingField(file: file, line: line, field: "references")
            }
            guard case .array(let items) = value else {
                throw SuperNIEvaluationError.invalidField(file: file, line: line, field: "references", reason: "is \(value.typeName), not a list of strings")
            }
            let references = try items.map { item -> String in
                guard case .string(let text) = item else {
                    throw SuperNIEvaluationError.invalidField(file: file, line: line, field: "references", reason: "holds \(item.typeName), not only strings")
                }
                return text
            }
            guard !references.isEmpty else {
                throw SuperNIEvaluationError.invalidField(file: file, line: line, field: "references", reason: "is empty (the maximum over no references is undefined)")
            }
            let taskID = try optionalString(object, "task_id", file: file, line: line)
            let category = try optionalString(object, "task_category", file: file, line: line)
            let track: String?
            switch object["track"] {
            case nil: track = Track.default.rawValue
            case .string(let name)?: track = name
            case _?: track = nil
            }
            return Reference(id: id, references: references, taskID: taskID, taskCategory: category, track: track, line: line)
        }
    }

    /// Parses a predictions file (`file` names it in errors).
    public static func readPredictions(_ data: Data, file: String) throws -> [Prediction] {
        try JSONLines.objects(data, file: file).map { line, object in
            let id = try instanceID(object, file: file, line: line)
            guard let value = object["prediction"] else {
                throw SuperNIEvaluationError.missingField(file: file, line: line, field: "prediction")
            }
            guard case .string(let text) = value else {
                throw SuperNIEvaluationError.invalidField(file: file, line: line, field: "prediction", reason: "is \(value.typeName), not a string")
            }
            return Prediction(id: id, prediction: text, line: line)
        }
    }

    private static func instanceID(_ object: [String: JSONValue], file: String, line: Int) throws -> InstanceID {
        switch object["id"] {
        case nil: throw SuperNIEvaluationError.missingField(file: file, line: line, field: "id")
        case .string(let text)?: return .string(text)
        case .integer(let value)?: return .integer(value)
        case let other?:
            throw SuperNIEvaluationError.invalidField(file: file, line: line, field: "id", reason: "is \(other.typeName), not a string or an integer")
        }
    }

    private static func optionalString(_ object: [String: JSONValue], _ key: String, file: String, line: Int) throws -> String? {
        switch object[key] {
        case nil: return nil
        case .string(let text)?: return text
        case let other?:
            throw SuperNIEvaluationError.invalidField(file: file, line: line, field: key, reason: "is \(other.typeName), not a string")
        }
    }

    // MARK: - Evaluation

    /// Evaluates parsed predictions against parsed references, as the script's main block; the
    /// file names only label errors.
    public func evaluate(predictions: [Prediction], references: [Reference],
                         predictionsFile: String = "<predictions>", referencesFile: String = "<references>") throws -> Report {
        var order: [InstanceID] = []
        var referenceByID: [InstanceID: Reference] = [:]
        for reference in references {
            if referenceByID[reference.id] == nil { order.append(reference.id) }
            referenceByID[reference.id] = reference
        }
        let instances = order.compactMap { referenceByID[$0] }
        var predictionByID: [InstanceID: String] = [:]
        for prediction in predictions { predictionByID[prediction.id] = prediction.prediction }

        var report = Report()
        var seenUnknown = Set<InstanceID>()
        for prediction in predictions where referenceByID[prediction.id] == nil && seenUnknown.insert(prediction.id).inserted {
            if options.unknownPredictions == .fail {
                throw SuperNIEvaluationError.unknownPrediction(file: predictionsFile, line: prediction.line, id: prediction.id.description)
            }
            report.unknownPredictions.append(prediction.id)
        }
        let trackNames = Set(Track.allCases.map(\.rawValue))
        report.ignoredReferences = instances.filter { !($0.track.map(trackNames.contains) ?? false) }.map(\.id)

        for track in Track.allCases {
            let trackInstances = instances.filter { $0.track == track.rawValue }
            guard let first = trackInstances.first else { continue }
            let rouge: RougeL
            switch track {
            case .default: rouge = defaultRouge
            case .xlingual:
                guard let crossLingual = crossLingualRouge else {
                    throw SuperNIEvaluationError.noCrossLingualTokenizer(file: referencesFile, line: first.line)
                }
                rouge = crossLingual
            }
            var missing: [InstanceID] = []
            var examples: [Example] = []
            for instance in trackInstances {
                let prediction: String
                if let text = predictionByID[instance.id] {
                    prediction = text
                } else {
                    if options.missingPredictions == .fail {
                        throw SuperNIEvaluationError.missingPrediction(file: referencesFile, line: instance.line, id: instance.id.description)
                    }
                    missing.append(instance.id)
                    prediction = ""
                }
                examples.append(Example(prediction: prediction, references: instance.references))
            }
            if !missing.isEmpty { report.missingPredictions[track] = missing }

            let scores = Self.scores(examples, rouge: rouge)
            if let overall = Self.metrics(scores) {
                report.set("exact_match_\(track.rawValue)_track", overall.exactMatch)
                report.set("rougeL_\(track.rawValue)_track", overall.rougeL)
            }
            if first.taskCategory != nil {
                let groups = try trackInstances.map { instance -> String in
                    guard let category = instance.taskCategory else {
                        throw SuperNIEvaluationError.missingField(file: referencesFile, line: instance.line, field: "task_category")
                    }
                    return Self.categoryGroup(category)
                }
                for group in Self.grouped(scores, groups: groups) {
                    report.set("exact_match_for_\(group.group)_\(track.rawValue)_track", group.metrics.exactMatch)
                    report.set("rougeL_for_\(group.group)_\(track.rawValue)_track", group.metrics.rougeL)
                }
            }
            if first.taskID != nil {
                let groups = try trackInstances.map { instance -> String in
                    guard let task = instance.taskID else {
                        throw SuperNIEvaluationError.missingField(file: referencesFile, line: instance.line, field: "task_id")
                    }
                    return task
                }
                for group in Self.grouped(scores, groups: groups) {
                    report.set("exact_match_for_\(group.group)_\(track.rawValue)_track", group.metrics.exactMatch)
                    report.set("rougeL_for_\(group.group)_\(track.rawValue)_track", group.metrics.rougeL)
                }
            }
        }
        return report
    }

    /// `compute_metrics(predictions, references)`: nil for no examples (the script divides by zero).
    public static func computeMetrics(_ examples: [Example], rouge: RougeL) -> Metrics? {
        metrics(scores(examples, rouge: rouge))
    }

    /// `compute_grouped_metrics(predictions, references, groups)`: the metrics of each group, in
    /// order of first appearance. `groups` must have one entry per example (the script asserts it);
    /// extra entries on either side are left out.
    public static func computeGroupedMetrics(_ examples: [Example], groups: [String], rouge: RougeL) -> [GroupMetrics] {
        let count = min(examples.count, groups.count)
        return grouped(scores(Array(examples.prefix(count)), rouge: rouge), groups: Array(groups.prefix(count)))
    }

    /// The script's category group name: `"_".join(category.lower().split())`.
    public static func categoryGroup(_ category: String) -> String {
        PythonText.split(PythonText.lower(category)).map { PythonText.string($0) }.joined(separator: "_")
    }

    /// Python's `round(value, digits)` for a float: the decimal correctly rounded (half to even on
    /// exact ties) from the binary value, read back as the nearest double.
    public static func pythonRound(_ value: Double, digits: Int) -> Double {
        guard value.isFinite, digits >= 0, digits <= 300 else { return value }
        // C's printf converts the exact binary value with correct rounding, as CPython's dtoa does.
        var buffer = [CChar](repeating: 0, count: 700)
        let written = withVaList([value]) { arguments in
            buffer.withUnsafeMutableBufferPointer { pointer in
                vsnprintf(pointer.baseAddress, pointer.count, "%.\(digits)f", arguments)
            }
        }
        guard written > 0 && Int(written) < buffer.count else { return value }
        let text = buffer.withUnsafeBufferPointer { pointer in
            String(decoding: pointer.prefix(Int(written)).map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
        }
        // A process locale with a decimal comma would print "66,6667".
        return Double(text.replacingOccurrences(of: ",", with: ".")) ?? value
    }

    // MARK: - Internals

    /// Per example: exact match (0/1) and ROUGE-L F, each the maximum over the references.
    private static func scores(_ examples: [Example], rouge: RougeL) -> [(exactMatch: Int, rougeL: Double)] {
        examples.map { example in
            (ExactMatch.score(prediction: example.prediction, references: example.references) > 0 ? 1 : 0,
             rouge.fmeasure(prediction: example.prediction, references: example.references))
        }
    }

    /// `compute_metrics`' arithmetic on precomputed scores, summed in order as the script does.
    private static func metrics(_ scores: [(exactMatch: Int, rougeL: Double)]) -> Metrics? {
        guard !scores.isEmpty else { return nil }
        var exactMatches = 0
        var rougeSum = 0.0
        for score in scores {
            exactMatches += score.exactMatch
            rougeSum += score.rougeL
        }
        let count = Double(scores.count)
        return Metrics(exactMatch: pythonRound(100.0 * Double(exactMatches) / count, digits: 4),
                       rougeL: pythonRound(100.0 * rougeSum / count, digits: 4))
    }

    private static func grouped(_ scores: [(exactMatch: Int, rougeL: Double)], groups: [String]) -> [GroupMetrics] {
        var order: [String] = []
        var members: [String: [(exactMatch: Int, rougeL: Double)]] = [:]
        for (score, group) in zip(scores, groups) {
            if members[group] == nil { order.append(group) }
            members[group, default: []].append(score)
        }
        return order.compactMap { group in
            members[group].flatMap(metrics).map { GroupMetrics(group: group, metrics: $0) }
        }
    }
}

/// The bits of Python's `json` module output the report needs.
enum PythonJSON {
    /// `json.dumps(text)` with the default `ensure_ascii=True`.
    static func quote(_ text: String) -> String { JSONText.quoted(text, escaping: .asciiOnly) }

    /// `json.dumps(value)` for a float: `repr`, with `NaN` / `Infinity` for the non-finite.
    static func float(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return "\(value)"
    }
}
