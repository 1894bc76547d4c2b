/// Rank classification over answer candidates from their log-likelihoods, as
/// lm-evaluation-harness scores multiple-choice tasks (`acc`, `acc_norm`) plus the calibrated
/// choice of "Calibrate Before Use" (Zhao et al., 2021): the candidate whose log-probability gains
/// most over its log-probability after a content-free input such as `"N/A"`.
///
/// Every choice is `numpy.argmax`'s: the first index of the largest value, ties going to the lower
/// index, and a NaN counting as larger than anything (the first NaN wins).
public enum RankClassification {
    /// Why a rank classification could not be made.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// There were no candidates.
        case noCandidates
        /// A per-candidate array had `count` entries for `expected` candidates.
        case countMismatch(field: String, count: Int, expected: Int)
        /// The gold index is outside the candidates.
        case goldOutOfRange(gold: Int, candidates: Int)

        /// A one-line explanation.
        public var description: String {
            switch self {
            case .noCandidates:
                return "rank classification needs at least one candidate"
            case let .countMismatch(field, count, expected):
                return "\(field) has \(count) entries for \(expected) candidates"
            case let .goldOutOfRange(gold, candidates):
                return "gold index \(gold) is outside the \(candidates) candidates"
            }
        }
    }

    /// `numpy.argmax(values)`; nil for an empty array.
    public static func argmax(_ values: [Double]) -> Int? {
        guard var best = values.indices.first else { return nil }
        for index in values.indices {
            if values[index].isNaN { return index }
            if values[index] > values[best] { best = index }
        }
        return best
    }

    /// The candidate with the largest summed log-probability (lm-evaluation-harness `acc`).
    public static func choose(logprobs: [Double]) throws -> Int {
        guard let choice = argmax(logprobs) else { throw Failure.noCandidates }
        return choice
    }

    /// The candidate with the largest log-probability per character of the candidate text
    /// (lm-evaluation-harness `acc_norm`: `argmax(logprobs / completion_len)`, with the lengths
    /// as floats, so a zero length divides to ±infinity or NaN as in numpy).
    public static func chooseNormalized(logprobs: [Double], characterLengths: [Int]) throws -> Int {
        guard characterLengths.count == logprobs.count else {
            throw Failure.countMismatch(field: "characterLengths", count: characterLengths.count, expected: logprobs.count)
        }
        return try choose(logprobs: zip(logprobs, characterLengths).map { $0 / Double($1) })
    }

    /// The candidate with the largest `logprob - contentFreeLogprob` (calibrated ranking).
    public static func chooseCalibrated(logprobs: [Double], contentFreeLogprobs: [Double]) throws -> Int {
        guard contentFreeLogprobs.count == logprobs.count else {
            throw Failure.countMismatch(field: "contentFreeLogprobs", count: contentFreeLogprobs.count, expected: logprobs.count)
        }
        return try choose(logprobs: zip(logprobs, contentFreeLogprobs).map { $0 - $1 })
    }

    /// A candidate's length as lm-evaluation-harness measures it: Python's `len(str)`, the number
    /// of Unicode code points (not grapheme clusters, not bytes).
    public static func characterLength(_ candidate: String) -> Int {
        candidate.unicodeScalars.count
    }

    /// One multiple-choice question, scored.
    public struct Example: Sendable, Hashable {
        /// Each candidate's summed log-probability given the question.
        public var logprobs: [Double]
        /// Each candidate's length in code points (`characterLength`).
        public var characterLengths: [Int]
        /// Each candidate's summed log-probability given a content-free input, when measured.
        public var contentFreeLogprobs: [Double]?
        /// The index of the right candidate.
        public var gold: Int

        /// An example from its parts.
        public init(logprobs: [Double], characterLengths: [Int], contentFreeLogprobs: [Double]? = nil, gold: Int) {
            self.logprobs = logprobs
            self.characterLengths = characterLengths
            self.contentFreeLogprobs = contentFreeLogprobs
            self.gold = gold
        }

        /// An example whose lengths come from the candidate texts.
        public init(candidates: [String], logprobs: [Double], contentFreeLogprobs: [Double]? = nil, gold: Int) {
            self.init(logprobs: logprobs, characterLengths: candidates.map(RankClassification.characterLength),
                      contentFreeLogprobs: contentFreeLogprobs, gold: gold)
        }
    }

    /// The choices made for one example.
    public struct Choice: Sendable, Hashable {
        /// The `acc` choice.
        public var raw: Int
        /// The `acc_norm` choice.
        public var normalized: Int
        /// The calibrated choice, when content-free log-probabilities were given.
        public var calibrated: Int?
    }

    /// Accuracies, each the fraction of examples whose choice is the gold one.
    public struct Accuracy: Sendable, Hashable {
        /// `acc`.
        public var acc: Double
        /// `acc_norm`.
        public var accNorm: Double
        /// Calibrated accuracy, over the examples with content-free log-probabilities; nil when none
        /// had them.
        public var accCalibrated: Double?
        /// The number of examples.
        public var count: Int
        /// The number of examples the calibrated accuracy is over.
        public var calibratedCount: Int
    }

    /// The three choices for `example`.
    public static func choose(_ example: Example) throws -> Choice {
        guard !example.logprobs.isEmpty else { throw Failure.noCandidates }
        guard example.gold >= 0 && example.gold < example.logprobs.count else {
            throw Failure.goldOutOfRange(gold: example.gold, candidates: example.logprobs.count)
        }
        return Choice(
            raw: try choose(logprobs: example.logprobs),
            normalized: try chooseNormalized(logprobs: example.logprobs, characterLengths: example.characterLengths),
            calibrated: try example.contentFreeLogprobs.map { try chooseCalibrated(logprobs: example.logprobs, contentFreeLogprobs: $0) })
    }

    /// Mean accuracies over `examples` (all 0 for no examples).
    public static func accuracy(_ examples: [Example]) throws -> Accuracy {
        var raw = 0, normalized = 0, calibrated = 0, calibratedCount = 0
        for example in examples {
            let choice = try choose(example)
            if choice.raw == example.gold { raw += 1 }
            if choice.normalized == example.gold { normalized += 1 }
            if let pick = choice.calibrated {
                calibratedCount += 1
                if pick == example.gold { calibrated += 1 }
            }
        }
        let count = examples.count
        func mean(_ hits: Int, _ total: Int) -> Double { total == 0 ? 0 : Double(hits) / Double(total) }
        return Accuracy(acc: mean(raw, count), accNorm: mean(normalized, count),
                        accCalibrated: calibratedCount == 0 ? nil : mean(calibrated, calibratedCount),
                        count: count, calibratedCount: calibratedCount)
    }
}
