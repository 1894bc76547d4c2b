import OPTMetrics
import Testing
@testable import OPTEval

@Suite("Rank classification")
struct RankClassificationTests {
    @Test func argmaxIsNumpys() {
        #expect(RankClassification.argmax([]) == nil)
        #expect(RankClassification.argmax([-3]) == 0)
        #expect(RankClassification.argmax([-3, -1, -2]) == 1)
        #expect(RankClassification.argmax([-1, -1, -2]) == 0)          // ties: the first
        #expect(RankClassification.argmax([-2, -1, -1]) == 1)
        #expect(RankClassification.argmax([-.infinity, -.infinity]) == 0)
        #expect(RankClassification.argmax([-5, .nan, 0, .nan]) == 1)  // the first NaN wins
        #expect(RankClassification.argmax([-5, .infinity, 0]) == 1)
    }

    @Test func handCheckedExamples() throws {
        // " yes" (4 chars) -2.0, " no" (3 chars) -1.8, " maybe" (6 chars) -3.0.
        // acc: -1.8 is largest -> 1. acc_norm: -0.5, -0.6, -0.5 -> tie at 0 and 2 -> 0.
        // calibrated with content-free -1.0, -0.5, -2.9: -1.0, -1.3, -0.1 -> 2.
        let example = RankClassification.Example(candidates: [" yes", " no", " maybe"], logprobs: [-2.0, -1.8, -3.0],
                                                 contentFreeLogprobs: [-1.0, -0.5, -2.9], gold: 0)
        #expect(example.characterLengths == [4, 3, 6])
        let choice = try RankClassification.choose(example)
        #expect(choice.raw == 1)
        #expect(choice.normalized == 0)
        #expect(choice.calibrated == 2)

        // lm-eval-harness lengths are code points: "é" precomposed is 1, "e\u{301}" is 2.
        #expect(RankClassification.characterLength("caf\u{E9}") == 4)
        #expect(RankClassification.characterLength("cafe\u{301}") == 5)
        #expect(RankClassification.characterLength("👍🏽") == 2)

        // A longer candidate wins only after normalization: -6/12 = -0.5 beats -2/2 = -1.
        #expect(try RankClassification.choose(logprobs: [-2, -6]) == 0)
        #expect(try RankClassification.chooseNormalized(logprobs: [-2, -6], characterLengths: [2, 12]) == 1)
        // An empty candidate divides to -inf (numpy), so it loses unless everything does.
        #expect(try RankClassification.chooseNormalized(logprobs: [-1, -50], characterLengths: [0, 10]) == 1)
        #expect(try RankClassification.chooseNormalized(logprobs: [0, -50], characterLengths: [0, 10]) == 0) // 0/0 = NaN wins
    }

    @Test func accuracyOverExamples() throws {
        let examples = [
            RankClassification.Example(logprobs: [-1, -2], characterLengths: [1, 1], contentFreeLogprobs: [-3, -1], gold: 0),
            RankClassification.Example(logprobs: [-1, -4], characterLengths: [1, 8], gold: 1),
            RankClassification.Example(logprobs: [-3, -2, -1], characterLengths: [1, 1, 1], contentFreeLogprobs: [0, 0, 0], gold: 2),
        ]
        let accuracy = try RankClassification.accuracy(examples)
        #expect(accuracy.count == 3)
        #expect(accuracy.acc == 2.0 / 3.0)
        #expect(accuracy.accNorm == 1.0)
        #expect(accuracy.accCalibrated == 1.0)
        #expect(accuracy.calibratedCount == 2)
        let none = try RankClassification.accuracy([])
        #expect(none.acc == 0 && none.accCalibrated == nil)
    }

    @Test func badInput() {
        #expect(throws: RankClassification.Failure.noCandidates) { try RankClassification.choose(logprobs: []) }
        #expect(throws: RankClassification.Failure.countMismatch(field: "characterLengths", count: 1, expected: 2)) {
            try RankClassification.chooseNormalized(logprobs: [-1, -2], characterLengths: [3])
        }
        #expect(throws: RankClassification.Failure.countMismatch(field: "contentFreeLogprobs", count: 3, expected: 2)) {
            try RankClassification.chooseCalibrated(logprobs: [-1, -2], contentFreeLogprobs: [0, 0, 0])
        }
        #expect(throws: RankClassification.Failure.goldOutOfRange(gold: 2, candidates: 2)) {
            try RankClassification.choose(RankClassification.Example(logprobs: [-1, -2], characterLengths: [1, 1], gold: 2))
        }
    }
}
