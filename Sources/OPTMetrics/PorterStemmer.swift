import OPTSupport
/// The Porter stemmer of nltk (`nltk.stem.porter.PorterStemmer`), ported rule by rule, in its three
/// modes. `rouge_score`'s default tokenizer uses it in the default mode, `.nltkExtensions`.
///
/// Like nltk it works on code points: vowels are `a e i o u` (and `y` after a consonant), every
/// other code point, digits and non-Latin letters included, counts as a consonant.
public struct PorterStemmer: Sendable, Hashable {
    /// Which variant of the algorithm to run (nltk's `mode` argument).
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// nltk's default: Martin Porter's extensions plus nltk's own (irregular forms, `-ies`/`-ied`
        /// of four-letter words, `y -> i` only after a consonant, `alli`, `fulli`, `logi`, …).
        case nltkExtensions = "NLTK_EXTENSIONS"
        /// Only the changes of the implementations on Martin Porter's website.
        case martinExtensions = "MARTIN_EXTENSIONS"
        /// The algorithm as published in 1980.
        case originalAlgorithm = "ORIGINAL_ALGORITHM"
    }

    /// The variant this stemmer runs.
    public let mode: Mode

    /// A stemmer running `mode` (nltk's default unless told otherwise).
    public init(mode: Mode = .nltkExtensions) {
        self.mode = mode
    }

    /// The stem of `word`, as nltk's `PorterStemmer(mode).stem(word, to_lowercase)`.
    ///
    /// - Parameter toLowercase: lowercase the word first with Python's `str.lower()` (nltk's default).
    public func stem(_ word: String, toLowercase: Bool = true) -> String {
        let scalars = Array(word.unicodeScalars)
        let start = toLowercase ? PythonText.lower(scalars) : scalars
        var stem = start.map(\.value)
        if mode == .nltkExtensions, let irregular = Self.irregularForms[stem] {
            return PythonText.string(irregular.unicodeScalars)
        }
        // nltk tests the length of the word as given, before lowercasing.
        if mode != .originalAlgorithm && scalars.count <= 2 {
            return PythonText.string(start)
        }
        stem = step1a(stem)
        stem = step1b(stem)
        stem = step1c(stem)
        stem = step2(stem)
        stem = step3(stem)
        stem = step4(stem)
        stem = step5a(stem)
        stem = step5b(stem)
        return PythonText.string(stem.compactMap(Unicode.Scalar.init))
    }

    /// The stem of a token made of ASCII bytes (what `rouge_score`'s tokenizer hands over).
    func stem(ascii word: [UInt8]) -> String {
        var stem = word.map(UInt32.init)
        if mode == .nltkExtensions, let irregular = Self.irregularForms[stem] { return irregular }
        if mode != .originalAlgorithm && word.count <= 2 { return String(decoding: word, as: UTF8.self) }
        stem = step1a(stem)
        stem = step1b(stem)
        stem = step1c(stem)
        stem = step2(stem)
        stem = step3(stem)
        stem = step4(stem)
        stem = step5a(stem)
        stem = step5b(stem)
        return PythonText.string(stem.compactMap(Unicode.Scalar.init))
    }

    // MARK: - Tables

    typealias Word = [UInt32]

    /// nltk's `pool`: irregular forms and their stems (NLTK_EXTENSIONS only).
    private static let irregularForms: [Word: String] = {
        let forms: [(String, [String])] = [
            ("sky", ["sky", "skies"]), ("die", ["dying"]), ("lie", ["lying"]), ("tie", ["tying"]),
            ("news", ["news"]), ("inning", ["innings", "inning"]), ("outing", ["outings", "outing"]),
            ("canning", ["cannings", "canning"]), ("howe", ["howe"]), ("proceed", ["proceed"]),
            ("exceed", ["exceed"]), ("succeed", ["succeed"]),
        ]
        var pool: [Word: String] = [:]
        for (stem, words) in forms {
            for word in words { pool[w(word)] = stem }
        }
        return pool
    }()

    private static func w(_ text: String) -> Word { text.unicodeScalars.map(\.value) }

    private static let a: UInt32 = 0x61, e: UInt32 = 0x65, i: UInt32 = 0x69, o: UInt32 = 0x6F, u: UInt32 = 0x75
    private static let y: UInt32 = 0x79

    private static func isVowelLetter(_ c: UInt32) -> Bool {
        c == a || c == e || c == i || c == o || c == u
    }

    // MARK: - Conditions

    /// `_is_consonant(word, i)`: a `y` is a consonant at the start or after a vowel.
    private func isConsonant(_ word: Word, _ index: Int) -> Bool {
        if Self.isVowelLetter(word[index]) { return false }
        if word[index] == Self.y {
            var negate = false
            var j = index
            while j > 0 && word[j] == Self.y {
                negate.toggle()
                j -= 1
            }
            return (!Self.isVowelLetter(word[j])) != negate
        }
        return true
    }

    /// `_consonant_flags`: `isConsonant` for every position in one pass.
    private func consonantFlags<C: Collection>(_ word: C) -> [Bool] where C.Element == UInt32 {
        var flags: [Bool] = []
        flags.reserveCapacity(word.count)
        for c in word {
            if Self.isVowelLetter(c) {
                flags.append(false)
            } else if c == Self.y {
                flags.append(flags.last.map { !$0 } ?? true)
            } else {
                flags.append(true)
            }
        }
        return flags
    }

    /// `_measure`: the number of vowel-consonant transitions, Porter's m.
    private func measure<C: Collection>(_ stem: C) -> Int where C.Element == UInt32 {
        let flags = consonantFlags(stem)
        var count = 0
        var index = 0
        while index + 1 < flags.count {
            if !flags[index] && flags[index + 1] {
                count += 1
                index += 2
            } else {
                index += 1
            }
        }
        return count
    }

    private func hasPositiveMeasure(_ stem: Word) -> Bool { measure(stem) > 0 }

    private func containsVowel(_ stem: Word) -> Bool { consonantFlags(stem).contains(false) }

    /// Condition *d: the word ends with a double consonant.
    private func endsDoubleConsonant(_ word: Word) -> Bool {
        word.count >= 2 && word[word.count - 1] == word[word.count - 2] && isConsonant(word, word.count - 1)
    }

    /// Condition *o: the stem ends consonant-vowel-consonant, the last not `w`, `x` or `y` (and, in
    /// nltk's mode, a two-letter vowel-consonant word).
    private func endsCVC(_ word: Word) -> Bool {
        let n = word.count
        if n >= 3 && isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1)
            && word[n - 1] != 0x77 && word[n - 1] != 0x78 && word[n - 1] != Self.y {
            return true
        }
        return mode == .nltkExtensions && n == 2 && !isConsonant(word, 0) && isConsonant(word, 1)
    }

    // MARK: - Rules

    private enum Condition {
        case none
        case positiveMeasure
        case measureAboveOne
        /// Step 4's `(m>1 and (*S or *T)) ION`.
        case measureAboveOneEndingSOrT
        /// nltk's `logi -> log`: the measure of the word without its last three letters.
        case positiveMeasureOfWordMinusThree
    }

    private struct Rule {
        var suffix: Word
        var replacement: Word
        var condition: Condition

        init(_ suffix: String, _ replacement: String, _ condition: Condition) {
            self.suffix = PorterStemmer.w(suffix)
            self.replacement = PorterStemmer.w(replacement)
            self.condition = condition
        }
    }

    private static func ends(_ word: Word, with suffix: Word) -> Bool {
        word.count >= suffix.count && word[(word.count - suffix.count)...].elementsEqual(suffix)
    }

    private static func dropping(_ word: Word, _ count: Int) -> Word {
        Array(word[..<(word.count - count)])
    }

    private func holds(_ condition: Condition, stem: Word, word: Word) -> Bool {
        switch condition {
        case .none: return true
        case .positiveMeasure: return measure(stem) > 0
        case .measureAboveOne: return measure(stem) > 1
        case .measureAboveOneEndingSOrT:
            guard measure(stem) > 1, let last = stem.last else { return false }
            return last == 0x73 || last == 0x74
        case .positiveMeasureOfWordMinusThree:
            return measure(word[..<(word.count - 3)]) > 0
        }
    }

    /// `_apply_rule_list`: the first rule whose suffix the word ends with decides; if its condition
    /// fails the word is returned unchanged, later rules are not tried.
    private func apply(_ rules: [Rule], to word: Word) -> Word {
        for rule in rules where Self.ends(word, with: rule.suffix) {
            let stem = Self.dropping(word, rule.suffix.count)
            return holds(rule.condition, stem: stem, word: word) ? stem + rule.replacement : word
        }
        return word
    }

    private static let step1aRules = [Rule("sses", "ss", .none), Rule("ies", "i", .none), Rule("ss", "ss", .none), Rule("s", "", .none)]

    private func step1a(_ word: Word) -> Word {
        if mode == .nltkExtensions && Self.ends(word, with: Self.w("ies")) && word.count == 4 {
            return Self.dropping(word, 3) + Self.w("ie")
        }
        return apply(Self.step1aRules, to: word)
    }

    private func step1b(_ word: Word) -> Word {
        if mode == .nltkExtensions && Self.ends(word, with: Self.w("ied")) {
            return Self.dropping(word, 3) + Self.w(word.count == 4 ? "ie" : "i")
        }
        if Self.ends(word, with: Self.w("eed")) {
            let stem = Self.dropping(word, 3)
            return measure(stem) > 0 ? stem + Self.w("ee") : word
        }
        var intermediate: Word?
        for suffix in [Self.w("ed"), Self.w("ing")] where Self.ends(word, with: suffix) {
            let candidate = Self.dropping(word, suffix.count)
            if containsVowel(candidate) {
                intermediate = candidate
                break
            }
        }
        guard let stem = intermediate else { return word }
        for (suffix, replacement) in [("at", "ate"), ("bl", "ble"), ("iz", "ize")] where Self.ends(stem, with: Self.w(suffix)) {
            return Self.dropping(stem, 2) + Self.w(replacement)
        }
        if endsDoubleConsonant(stem), let last = stem.last {
            // (*d and not (*L or *S or *Z)) -> single letter
            return last == 0x6C || last == 0x73 || last == 0x7A ? stem : Self.dropping(stem, 1)
        }
        // (m=1 and *o) -> E
        return measure(stem) == 1 && endsCVC(stem) ? stem + [Self.e] : stem
    }

    private func step1c(_ word: Word) -> Word {
        guard word.last == Self.y else { return word }
        let stem = Self.dropping(word, 1)
        let applies = mode == .nltkExtensions
            ? stem.count > 1 && isConsonant(stem, stem.count - 1)
            : containsVowel(stem)
        return applies ? stem + [Self.i] : word
    }

    private static let step2Head: [Rule] = [
        Rule("ational", "ate", .positiveMeasure), Rule("tional", "tion", .positiveMeasure),
        Rule("enci", "ence", .positiveMeasure), Rule("anci", "ance", .positiveMeasure),
        Rule("izer", "ize", .positiveMeasure),
    ]
    private static let step2Tail: [Rule] = [
        Rule("alli", "al", .positiveMeasure), Rule("entli", "ent", .positiveMeasure),
        Rule("eli", "e", .positiveMeasure), Rule("ousli", "ous", .positiveMeasure),
        Rule("ization", "ize", .positiveMeasure), Rule("ation", "ate", .positiveMeasure),
        Rule("ator", "ate", .positiveMeasure), Rule("alism", "al", .positiveMeasure),
        Rule("iveness", "ive", .positiveMeasure), Rule("fulness", "ful", .positiveMeasure),
        Rule("ousness", "ous", .positiveMeasure), Rule("aliti", "al", .positiveMeasure),
        Rule("iviti", "ive", .positiveMeasure), Rule("biliti", "ble", .positiveMeasure),
    ]
    private static let step2Rules: [Mode: [Rule]] = [
        .nltkExtensions: step2Head + [Rule("bli", "ble", .positiveMeasure)] + step2Tail
            + [Rule("fulli", "ful", .positiveMeasure), Rule("logi", "log", .positiveMeasureOfWordMinusThree)],
        .martinExtensions: step2Head + [Rule("bli", "ble", .positiveMeasure)] + step2Tail
            + [Rule("logi", "log", .positiveMeasure)],
        .originalAlgorithm: step2Head + [Rule("abli", "able", .positiveMeasure)] + step2Tail,
    ]

    private func step2(_ word: Word) -> Word {
        if mode == .nltkExtensions && Self.ends(word, with: Self.w("alli")) && hasPositiveMeasure(Self.dropping(word, 4)) {
            return step2(Self.dropping(word, 4) + Self.w("al"))
        }
        return apply(Self.step2Rules[mode] ?? [], to: word)
    }

    private static let step3Rules: [Rule] = [
        Rule("icate", "ic", .positiveMeasure), Rule("ative", "", .positiveMeasure),
        Rule("alize", "al", .positiveMeasure), Rule("iciti", "ic", .positiveMeasure),
        Rule("ical", "ic", .positiveMeasure), Rule("ful", "", .positiveMeasure),
        Rule("ness", "", .positiveMeasure),
    ]

    private func step3(_ word: Word) -> Word { apply(Self.step3Rules, to: word) }

    private static let step4Rules: [Rule] = [
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
    ].map { Rule($0, "", .measureAboveOne) }
        + [Rule("ion", "", .measureAboveOneEndingSOrT)]
        + ["ou", "ism", "ate", "iti", "ous", "ive", "ize"].map { Rule($0, "", .measureAboveOne) }

    private func step4(_ word: Word) -> Word { apply(Self.step4Rules, to: word) }

    private func step5a(_ word: Word) -> Word {
        guard word.last == Self.e else { return word }
        let stem = Self.dropping(word, 1)
        let m = measure(stem)
        if m > 1 { return stem }
        if m == 1 && !endsCVC(stem) { return stem }
        return word
    }

    private func step5b(_ word: Word) -> Word {
        // ("ll", "l", lambda stem: measure(word[:-1]) > 1)
        guard Self.ends(word, with: Self.w("ll")) else { return word }
        return measure(word[..<(word.count - 1)]) > 1 ? Self.dropping(word, 1) : word
    }
}
