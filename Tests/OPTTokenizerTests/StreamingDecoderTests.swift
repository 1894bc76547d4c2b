import Foundation
import Testing
@testable import OPTTokenizer

@Suite struct StreamingDecoderTests {
    let tokenizer: BPETokenizer
    let file: CaseFile

    init() throws {
        tokenizer = try BPETokenizer.load(directory: Fixtures.trainedDirectory())
        file = try Fixtures.decode(CaseFile.self, "trained_cases.json")
    }

    private func stream(_ ids: [Int], skipSpecialTokens: Bool) -> [String] {
        var decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens)
        return ids.map { decoder.append($0) } + [decoder.finish()]
    }

    /// The id of the single-byte token for each byte of `text`.
    private func byteTokenIDs(_ text: String) throws -> [Int] {
        try text.utf8.map { byte in
            try #require(tokenizer.id(forToken: ByteLevel.tokenString(forBytes: [byte])))
        }
    }

    @Test func sameTextAsDecode() {
        let idLists = file.cases.map(\.ids) + (file.decodeCases ?? []).map(\.ids)
        for ids in idLists {
            for skip in [true, false] {
                let streamed = stream(ids, skipSpecialTokens: skip).joined()
                #expect(sameScalars(streamed, tokenizer.decode(ids, skipSpecialTokens: skip)), "\(ids) skip=\(skip)")
            }
        }
    }

    @Test func neverEmitsHalfACharacter() throws {
        for text in ["😀", "👩‍💻", "🇫🇷🇯🇵", "中文", "naïve café", "a😀b", "🎉✨🚀", "Ω≈ç√"] {
            let ids = try byteTokenIDs(text)
            let chunks = stream(ids, skipSpecialTokens: true)
            #expect(chunks.joined() == text)
            for chunk in chunks {
                #expect(!chunk.unicodeScalars.contains("\u{FFFD}"), "\(text.debugDescription): \(chunks)")
            }
            // A chunk boundary inside a character would have shown up as U+FFFD on both sides.
        }
    }

    @Test func emojiBytesComeOutWhenComplete() throws {
        let ids = try byteTokenIDs("😀")
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        #expect(decoder.append(ids[0]) == "")
        #expect(decoder.append(ids[1]) == "")
        #expect(decoder.append(ids[2]) == "")
        #expect(decoder.append(ids[3]) == "😀")
        #expect(decoder.finish() == "")
    }

    @Test func unfinishedCharacterBecomesReplacementAtFinish() throws {
        let ids = try byteTokenIDs("😀")
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        #expect(decoder.append(ids[0]) == "")
        #expect(decoder.append(ids[1]) == "")
        #expect(decoder.finish() == "\u{FFFD}")
        // And it starts afresh.
        #expect(decoder.append(try byteTokenIDs("a")[0]) == "a")
    }

    @Test func invalidBytesAreNotHeldBack() throws {
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        let continuation = try #require(tokenizer.id(forToken: ByteLevel.tokenString(forBytes: [0x80])))
        #expect(decoder.append(continuation) == "\u{FFFD}")
        let surrogateLead = try #require(tokenizer.id(forToken: ByteLevel.tokenString(forBytes: [0xED])))
        let tooHigh = try #require(tokenizer.id(forToken: ByteLevel.tokenString(forBytes: [0xA0])))
        #expect(decoder.append(surrogateLead) == "")
        // ED A0 can never be valid (it would encode a surrogate), so it is released at once.
        #expect(decoder.append(tooHigh) == "\u{FFFD}\u{FFFD}")
    }

    @Test func specialTokensFollowTheFlag() {
        var skipping = StreamingDecoder(tokenizer: tokenizer)
        #expect(skipping.append(2) == "")
        var keeping = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: false)
        #expect(keeping.append(2) == "</s>")
    }

    @Test func completePrefixLength() {
        #expect(StreamingDecoder.completePrefixLength([]) == 0)
        #expect(StreamingDecoder.completePrefixLength([0x61]) == 1)
        #expect(StreamingDecoder.completePrefixLength([0x61, 0xF0]) == 1)
        #expect(StreamingDecoder.completePrefixLength([0x61, 0xF0, 0x9F, 0x98]) == 1)
        #expect(StreamingDecoder.completePrefixLength([0x61, 0xF0, 0x9F, 0x98, 0x80]) == 5)
        #expect(StreamingDecoder.completePrefixLength([0xE2, 0x82]) == 0)
        #expect(StreamingDecoder.completePrefixLength([0xE0, 0x80]) == 2)  // overlong: invalid now
        #expect(StreamingDecoder.completePrefixLength([0xF4, 0x90]) == 2)  // past U+10FFFF
        #expect(StreamingDecoder.completePrefixLength([0xC0]) == 1)        // never a lead
        #expect(StreamingDecoder.completePrefixLength([0x80, 0x80, 0x80, 0x80]) == 4)
    }
}
