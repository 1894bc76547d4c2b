import OPTMetrics
import Testing
@testable import OPTEval

@Suite("Porter stemmer (nltk port)")
struct PorterStemmerTests {
    @Test func everyModeMatchesNLTKOnTheWordList() throws {
        let fixture = try Fixtures.json("porter_stems.json", as: StemFixture.self)
        #expect(fixture.words.count >= 300)
        let stemmers = try fixture.modes.map { name in
            try #require(PorterStemmer.Mode(rawValue: name), "unknown mode \(name)")
        }.map { PorterStemmer(mode: $0) }
        #expect(stemmers.count == 3)
        for row in fixture.words {
            try #require(row.count == stemmers.count + 1)
            for (stemmer, expected) in zip(stemmers, row.dropFirst()) {
                let stem = stemmer.stem(row[0])
                #expect(stem.unicodeScalars.elementsEqual(expected.unicodeScalars), "\(stemmer.mode): \(show(row[0])) -> \(show(stem)), nltk \(show(expected))")
            }
        }
    }

    @Test func paperExamples() {
        let stemmer = PorterStemmer()
        let cases: [(String, String)] = [
            ("caresses", "caress"), ("ponies", "poni"), ("ties", "tie"), ("cats", "cat"), ("agreed", "agre"),
            ("plastered", "plaster"), ("motoring", "motor"), ("happy", "happi"), ("sky", "sky"),
            ("relational", "relat"), ("conditional", "condit"), ("hopefulness", "hope"),
            ("generalizations", "gener"), ("dying", "die"), ("news", "news"), ("controll", "control"),
        ]
        for (word, stem) in cases {
            #expect(stemmer.stem(word) == stem, "\(word)")
        }
        #expect(PorterStemmer(mode: .originalAlgorithm).stem("ties") == "ti")
        #expect(PorterStemmer(mode: .originalAlgorithm).stem("dying") == "dy")
    }

    @Test func longRunsOfYDoNotRecurse() {
        let word = String(repeating: "y", count: 5000)
        #expect(PorterStemmer().stem(word).count >= 4999)
    }
}
