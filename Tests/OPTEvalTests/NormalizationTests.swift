import OPTMetrics
import Testing
@testable import OPTEval

/// Hand-checked cases of the Python string semantics the metrics depend on (values from Python 3.11).
@Suite("Normalization and tokenization")
struct NormalizationTests {
    @Test func rougeDefaultTokenizer() {
        let rouge = RougeL()
        #expect(rouge.tokenize("İstanbul") == ["i", "stanbul"])                  // U+0130 lowercases to i + U+0307
        #expect(rouge.tokenize("café") == ["caf"])                                 // non-ASCII letters separate tokens
        #expect(rouge.tokenize("The 1990s generalizations") == ["the", "1990", "gener"])
        #expect(rouge.tokenize("\u{212A}elvin") == ["kelvin"])                     // the Kelvin sign lowercases to k
        #expect(rouge.tokenize("日本語") == [])
        #expect(rouge.tokenize("hopefulness, ponies!") == ["hope", "poni"])
        #expect(RougeL(useStemmer: false).tokenize("hopefulness, ponies!") == ["hopefulness", "ponies"])
        // No tokens on either side: 0, even for identical texts.
        #expect(rouge.score(prediction: "日本語", target: "日本語") == .zero)
        #expect(rouge.score(prediction: "", target: "") == .zero)
    }

    @Test func exactMatchNormalization() {
        #expect(ExactMatch.normalize("  The  Answer,\tis: 42! ") == "the answer is 42")
        #expect(ExactMatch.normalize("ΟΔΟΣ").unicodeScalars.elementsEqual("\u{3BF}\u{3B4}\u{3BF}\u{3C2}".unicodeScalars))
        #expect(ExactMatch.normalize("ΟΔΟΣ").unicodeScalars.last == "\u{3C2}")   // final sigma
        #expect(ExactMatch.normalize("ΣΑ").unicodeScalars.first == "\u{3C3}")
        #expect(ExactMatch.normalize("don’t") == "don’t")                          // only ASCII punctuation goes
        #expect(ExactMatch.normalize("a\u{1C}b\u{200B}c") == "a b\u{200B}c")      // Python's whitespace, not Unicode's
        // No Unicode normalization: precomposed and decomposed é differ.
        #expect(!ExactMatch.matches(prediction: "caf\u{E9}", reference: "cafe\u{301}"))
        #expect(ExactMatch.matches(prediction: "!!!", reference: ""))
        #expect(ExactMatch.score(prediction: "x", references: []) == 0)
    }

    @Test func squadNormalization() {
        #expect(TokenF1.normalize("the\u{301} theory a1 an_ α the").unicodeScalars.elementsEqual("\u{301} theory a1 α".unicodeScalars))
        #expect(TokenF1.normalize("The cat and a dog, an apple.") == "cat and dog apple")
        #expect(TokenF1.tokens("A the AN") == [])
        #expect(abs(TokenF1.score(prediction: "the cat sat", reference: "a cat sat down") - 0.8) < 1e-12)
        #expect(abs(TokenF1.score(prediction: "cat cat", reference: "cat") - 2.0 / 3.0) < 1e-12)
        #expect(TokenF1.score(prediction: "", reference: "") == 0)
        #expect(TokenF1.score(prediction: "x", references: []) == 0)
    }

    @Test func lcs() {
        #expect(RougeL.lcsLength([1, 2, 3, 4], [2, 4, 3]) == 2)
        #expect(RougeL.lcsLength([Int](), [1]) == 0)
        #expect(RougeL.lcsLength(Array("ABCBDAB"), Array("BDCABA")) == 4)
        let score = RougeL.score(targetTokens: ["a", "b", "c"], predictionTokens: ["a", "c"])
        #expect(score.precision == 1 && score.recall == 2.0 / 3.0 && abs(score.fmeasure - 0.8) < 1e-15)
    }
}
