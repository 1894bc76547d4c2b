import Foundation
import OPTSupport

/// A generated task suite in the Super-NaturalInstructions format, for demos, tests and offline
/// machines: closed-label classification and generation tasks over generated facts, numbers,
/// words and lists, each with an instruction, explained positive examples and thousands of
/// instances. Every output is a function of the seed.
public enum SyntheticSuite {
    /// One task: its name, category, instruction, answer options (closed-label tasks) and a generator
    /// of (input, output, explanation).
    struct Spec: Sendable {
        let name: String
        let category: String
        let definition: String
        let options: [String]?
        let make: @Sendable (inout SynthRandom) -> (input: String, output: String, explanation: String)
    }

    /// Writes `tasks/taskNNNN_synthetic_*.json`, `split.yaml` (the three evaluation levels) and
    /// `pretraining.jsonl` (plain text, `{"text": …}` lines) under `directory`; returns the number of tasks written.
    @discardableResult
    public static func write(to directory: URL, seed: UInt64 = 0, instances: Int = 2000) throws -> Int {
        let tasksDirectory = directory.appendingPathComponent("tasks")
        try FileManager.default.createDirectory(at: tasksDirectory, withIntermediateDirectories: true)
        for (index, spec) in specs.enumerated() {
            let file = tasksDirectory.appendingPathComponent(taskID(index, spec) + ".json")
            let data = try JSONSerialization.data(withJSONObject: task(spec, index: index, seed: seed, instances: instances),
                                                  options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try AtomicFile.write(data, to: file)
        }
        try AtomicFile.write(Data(splitYAML.utf8), to: directory.appendingPathComponent("split.yaml"))
        // Plain text for pre-training: paragraphs of four generated sentences, one JSON object a line.
        let sentences = pretrainingText(seed: seed, sentences: 4 * max(1000, 2 * instances))
        var lines = ""
        for start in stride(from: 0, to: sentences.count, by: 4) {
            let paragraph = sentences[start..<min(start + 4, sentences.count)].joined(separator: " ")
            let data = try JSONSerialization.data(withJSONObject: ["text": paragraph], options: [.withoutEscapingSlashes])
            lines += String(decoding: data, as: UTF8.self) + "\n"
        }
        try AtomicFile.write(Data(lines.utf8), to: directory.appendingPathComponent("pretraining.jsonl"))
        return specs.count
    }

    static func taskID(_ index: Int, _ spec: Spec) -> String { "task\(9001 + index)_synthetic_\(spec.name)" }

    /// One task file's object: Super-NI's keys, distinct instances, two explained positive examples.
    static func task(_ spec: Spec, index: Int, seed: UInt64, instances count: Int) -> [String: Any] {
        var random = SynthRandom(seed: StableHash.of(seed, "synthetic", spec.name))
        var seen = Set<String>(), drawn: [(input: String, output: String, explanation: String)] = []
        var attempts = 0
        while drawn.count < count + 2 && attempts < (count + 2) * 20 {
            attempts += 1
            let item = spec.make(&random)
            if seen.insert(item.input).inserted { drawn.append(item) }
        }
        let id = taskID(index, spec)
        let examples = drawn.prefix(2).map { ["input": $0.input, "output": $0.output, "explanation": $0.explanation] }
        let items = drawn.dropFirst(2).enumerated().map { i, item -> [String: Any] in
            ["id": "\(id)-\(i)", "input": item.input, "output": [item.output]]
        }
        return [
            "Contributors": ["optiml synth"], "Source": ["synthetic_\(spec.name)"], "URL": [String](),
            "Categories": [spec.category], "Reasoning": [String](), "Definition": [spec.definition],
            "Input_language": ["English"], "Output_language": ["English"], "Instruction_language": ["English"],
            "Domains": ["Synthetic"], "Positive Examples": examples, "Negative Examples": [[String: Any]](),
            "Instances": items, "Instance License": ["Unknown"],
        ]
    }

    /// Level 1: two categories held out entirely; level 2: one task of each of two seen categories;
    /// level 3: held-out instances of the trained tasks. As in the paper, the held-out categories need
    /// skills that training teaches under other names (answering from a paragraph is extraction; topics
    /// come from the same kind of word lists as sentiment), so a model can only score by following
    /// an instruction it has never seen.
    static let splitYAML = """
        name: synthetic
        seed: 0
        validation: {categories: [Word Analogy]}
        test: {categories: [Question Answering, Text Categorization]}
        partially_held_out: {fraction: 0.34, validation: [Number Conversion], test: [Information Extraction, Sentiment Analysis]}
        instances: {fraction: 0.05, max_per_task: 100, split: test}
        caps: {eval_per_task: 100}

        """

    // MARK: - Vocabulary

    static let names = ["Anna", "Ben", "Carla", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Leo",
                        "Mia", "Noah", "Olga", "Paul", "Rosa", "Sam", "Tina", "Victor"]
    static let cities = ["Paris", "Rome", "Oslo", "Lima", "Cairo", "Tokyo", "Quito", "Dublin", "Madrid", "Vienna", "Lisbon", "Prague",
                         "Berlin", "Athens", "Ottawa", "Canberra", "Nairobi", "Hanoi", "Seoul", "Warsaw", "Helsinki", "Bern", "Havana", "Manila"]
    static let countries = ["France", "Italy", "Norway", "Peru", "Egypt", "Japan", "Ecuador", "Ireland", "Spain", "Austria", "Portugal", "Czechia",
                            "Germany", "Greece", "Canada", "Australia", "Kenya", "Vietnam", "Korea", "Poland", "Finland", "Switzerland", "Cuba", "Philippines"]
    static let positiveWords = ["wonderful", "great", "lovely", "excellent", "delightful", "superb", "charming", "brilliant"]
    static let negativeWords = ["awful", "terrible", "boring", "dreadful", "poor", "horrible", "dull", "disappointing"]
    static let things = ["film", "meal", "book", "concert", "hotel", "game", "phone", "lecture"]
    static let opposites = [("hot", "cold"), ("big", "small"), ("fast", "slow"), ("happy", "sad"), ("light", "dark"), ("old", "young"),
                            ("early", "late"), ("hard", "soft"), ("high", "low"), ("rich", "poor"), ("open", "closed"), ("full", "empty"),
                            ("wet", "dry"), ("loud", "quiet"), ("thick", "thin"), ("strong", "weak"), ("near", "far"), ("clean", "dirty"),
                            ("brave", "afraid"), ("cheap", "costly"), ("deep", "shallow"), ("sweet", "sour"), ("wide", "narrow"), ("first", "last")]
    static let synonyms = [("big", "large"), ("fast", "quick"), ("happy", "glad"), ("small", "little"), ("begin", "start"),
                           ("end", "finish"), ("smart", "clever"), ("angry", "mad"), ("rich", "wealthy"), ("easy", "simple")]
    static let topics = [("sports", ["football", "tennis", "goal", "match", "team", "coach"]),
                         ("food", ["bread", "soup", "cheese", "recipe", "dinner", "salad"]),
                         ("music", ["guitar", "song", "concert", "piano", "album", "singer"])]
    static let animals = ["cat", "dog", "horse", "tiger", "rabbit", "eagle", "shark", "camel", "zebra", "otter", "panda", "whale"]
    static let colours = ["red", "blue", "green", "yellow", "purple", "orange", "black", "white"]
    static let units = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
    static let tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

    /// 0…999 in words ("three hundred forty-two"; hundreds below 10 only).
    static func words(_ n: Int) -> String {
        if n >= 100 { return units[n / 100] + " hundred" + (n % 100 == 0 ? "" : " " + words(n % 100)) }
        return n < 20 ? units[n] : tens[n / 10] + (n % 10 == 0 ? "" : "-" + units[n % 10])
    }

    static func list(_ values: [Int]) -> String { "[" + values.map(String.init).joined(separator: ", ") + "]" }

    // MARK: - Tasks

    static let specs: [Spec] = [
        // Mathematics
        Spec(name: "addition", category: "Mathematics", definition: "Add the two numbers and give the sum as digits.", options: nil) { r in
            let a = r.int(0..<100), b = r.int(0..<100)
            return ("What is \(a) plus \(b)?", "\(a + b)", "\(a) + \(b) = \(a + b).")
        },
        Spec(name: "subtraction", category: "Mathematics", definition: "Subtract the second number from the first and give the result.", options: nil) { r in
            let a = r.int(0..<100), b = r.int(0..<100)
            return ("What is \(a) minus \(b)?", "\(a - b)", "\(a) - \(b) = \(a - b).")
        },
        Spec(name: "multiplication", category: "Mathematics", definition: "Multiply the two numbers.", options: nil) { r in
            let a = r.int(0..<100), b = r.int(0..<13)
            return ("What is \(a) times \(b)?", "\(a * b)", "\(a) × \(b) = \(a * b).")
        },
        Spec(name: "parity", category: "Mathematics", definition: "Say whether the number is even or odd.", options: ["even", "odd"]) { r in
            let a = r.int(0..<10000)
            return ("Number: \(a)", a % 2 == 0 ? "even" : "odd", "\(a) divided by 2 leaves \(a % 2).")
        },
        // Program Execution: list operations
        Spec(name: "list_sort", category: "Program Execution", definition: "Sort the list of numbers in ascending order.", options: nil) { r in
            let values = r.ints(count: r.int(3..<7), in: 0..<50)
            return ("List: \(list(values))", list(values.sorted()), "The numbers from smallest to largest.")
        },
        Spec(name: "list_reverse", category: "Program Execution", definition: "Reverse the order of the list.", options: nil) { r in
            let values = r.ints(count: r.int(3..<7), in: 0..<50)
            return ("List: \(list(values))", list(values.reversed()), "The same numbers, last first.")
        },
        Spec(name: "list_max", category: "Program Execution", definition: "Give the largest number in the list.", options: nil) { r in
            let values = r.ints(count: r.int(3..<8), in: 0..<100)
            return ("List: \(list(values))", "\(values.max()!)", "No number in the list is larger than \(values.max()!).")
        },
        Spec(name: "list_length", category: "Program Execution", definition: "Count the items in the list.", options: nil) { r in
            let values = r.ints(count: r.int(1..<10), in: 0..<100)
            return ("List: \(list(values))", "\(values.count)", "The list holds \(values.count) numbers.")
        },
        // Sentiment Analysis: sentiment from word lists
        Spec(name: "review_sentiment", category: "Sentiment Analysis", definition: "Classify the review as positive or negative.",
             options: ["positive", "negative"]) { r in
            let good = r.bool(), word = r.pick(good ? positiveWords : negativeWords), thing = r.pick(things), name = r.pick(names)
            let review = r.pick(["The \(thing) was \(word), said \(name).", "\(name) found the \(thing) \(word).", "A \(word) \(thing), according to \(name)."])
            return ("Review: \(review)", good ? "positive" : "negative", "\"\(word)\" is a \(good ? "positive" : "negative") word.")
        },
        Spec(name: "tweet_sentiment", category: "Sentiment Analysis", definition: "Is the feeling of the message happy or unhappy?",
             options: ["happy", "unhappy"]) { r in
            let good = r.bool(), name = r.pick(names), word = r.pick(good ? positiveWords : negativeWords)
            return ("\(name) wrote: what a \(word) day with my \(r.pick(things))!", good ? "happy" : "unhappy", "Calling the day \(word) is \(good ? "happy" : "unhappy").")
        },
        // Textual Entailment over generated facts
        Spec(name: "taller_entailment", category: "Textual Entailment",
             definition: "Does the premise entail the hypothesis? Answer entailment, contradiction or neutral.",
             options: ["entailment", "contradiction", "neutral"]) { r in
            let (a, b, c) = r.three(names)
            switch r.int(0..<3) {
            case 0: return ("Premise: \(a) is taller than \(b). Hypothesis: \(b) is shorter than \(a).", "entailment", "Taller one way is shorter the other way.")
            case 1: return ("Premise: \(a) is taller than \(b). Hypothesis: \(b) is taller than \(a).", "contradiction", "Both cannot be taller than each other.")
            default: return ("Premise: \(a) is taller than \(b). Hypothesis: \(c) is taller than \(a).", "neutral", "The premise says nothing about \(c).")
            }
        },
        Spec(name: "location_entailment", category: "Textual Entailment",
             definition: "Given the facts, is the statement true or false?", options: ["true", "false"]) { r in
            let name = r.pick(names), i = r.int(0..<cities.count), j = (i + 1 + r.int(0..<(cities.count - 1))) % cities.count
            let truth = r.bool()
            return ("Facts: \(name) lives in \(cities[i]). \(cities[i]) is in \(countries[i]). Statement: \(name) lives in \(countries[truth ? i : j]).",
                    truth ? "true" : "false", "\(cities[i]) is in \(countries[i]).")
        },
        // Word Analogy over generated relations
        Spec(name: "opposite_analogy", category: "Word Analogy", definition: "Complete the analogy with the opposite word.", options: nil) { r in
            let pairs = opposites + opposites.map { ($0.1, $0.0) }
            let (x, y) = r.pick(pairs), (u, v) = r.pick(pairs)
            return ("\(x) : \(y) :: \(u) : ?", v, "\(v) is the opposite of \(u), as \(y) is of \(x).")
        },
        Spec(name: "capital_analogy", category: "Word Analogy", definition: "Complete the analogy between cities and their countries.", options: nil) { r in
            let i = r.int(0..<cities.count), j = r.int(0..<cities.count)
            if r.bool() { return ("\(countries[i]) : \(cities[i]) :: \(countries[j]) : ?", cities[j], "\(cities[j]) is in \(countries[j]).") }
            return ("\(cities[i]) : \(countries[i]) :: \(cities[j]) : ?", countries[j], "\(cities[j]) is in \(countries[j]).")
        },
        // Information Extraction
        Spec(name: "extract_number", category: "Information Extraction", definition: "Extract the number mentioned in the sentence.", options: nil) { r in
            let n = r.int(2..<500), name = r.pick(names)
            return ("\(name) bought \(n) \(r.pick(animals)) stickers yesterday.", "\(n)", "The sentence mentions \(n).")
        },
        Spec(name: "extract_name", category: "Information Extraction", definition: "Extract the name of the person in the sentence.", options: nil) { r in
            let name = r.pick(names)
            return ("Yesterday \(name) visited \(r.pick(cities)) with a \(r.pick(colours)) bag.", name, "\(name) is the only person named.")
        },
        Spec(name: "extract_city", category: "Information Extraction", definition: "Which city is mentioned in the text?", options: nil) { r in
            let city = r.pick(cities)
            return ("The \(r.pick(things)) in \(city) was \(r.pick(positiveWords)), said \(r.pick(names)).", city, "\(city) is the city in the text.")
        },
        // Word Relation Classification
        Spec(name: "antonym_or_synonym", category: "Word Relation Classification",
             definition: "Are the two words synonyms or antonyms?", options: ["synonyms", "antonyms"]) { r in
            let same = r.bool(), (a, b) = same ? r.pick(synonyms) : r.pick(opposites), swap = r.bool()
            let (x, y) = swap ? (b, a) : (a, b), name = r.pick(names)
            let input = r.pick(["Words: \(x), \(y)", "\(name) wrote the words \(x) and \(y).", "Compare \(x) with \(y) (from \(name)'s list)."])
            return (input, same ? "synonyms" : "antonyms", "\(x) and \(y) mean \(same ? "the same" : "opposite") things.")
        },
        Spec(name: "longer_word", category: "Word Relation Classification",
             definition: "Which of the two words has more letters? Answer first or second.", options: ["first", "second"]) { r in
            let pool = animals + colours + things + cities
            var x = r.pick(pool), y = r.pick(pool)
            while x.count == y.count { x = r.pick(pool); y = r.pick(pool) }
            return (r.bool() ? "First: \(x). Second: \(y)." : "Words in order: \(x), then \(y).", x.count > y.count ? "first" : "second", "\(x) has \(x.count) letters, \(y) has \(y.count).")
        },
        // Sentence Perturbation: string edits
        Spec(name: "uppercase_word", category: "Sentence Perturbation", definition: "Write the word in capital letters.", options: nil) { r in
            let word = "\(r.pick(names))'s \(r.pick(colours)) \(r.pick(animals))"
            return ("Text: \(word)", word.uppercased(), "Every letter of \(word) capitalised.")
        },
        Spec(name: "reverse_word", category: "Sentence Perturbation", definition: "Spell the word backwards.", options: nil) { r in
            let word = r.pick(animals)
            return ("Word: \(word) (\(r.int(0..<1000)))", String(word.reversed()), "The letters of \(word) in reverse order.")
        },
        Spec(name: "replace_colour", category: "Sentence Perturbation", definition: "Rewrite the sentence with the colour replaced by the given one.", options: nil) { r in
            let a = r.pick(colours), b = r.pick(colours), animal = r.pick(animals), name = r.pick(names)
            return ("Sentence: \(name) has a \(a) \(animal). New colour: \(b).", "\(name) has a \(b) \(animal).", "Only the colour changes.")
        },
        // Number Conversion
        Spec(name: "digits_to_words", category: "Number Conversion", definition: "Write the number in words.", options: nil) { r in
            let n = r.int(0..<1000)
            return ("Number: \(n)", words(n), "\(n) is written \(words(n)).")
        },
        Spec(name: "words_to_digits", category: "Number Conversion", definition: "Write the number as digits.", options: nil) { r in
            let n = r.int(0..<1000)
            return ("Number: \(words(n))", "\(n)", "\(words(n)) is \(n).")
        },
        Spec(name: "compare_numbers", category: "Number Conversion", definition: "Which number is larger? Answer with the larger number in digits.", options: nil) { r in
            var a = r.int(0..<1000), b = r.int(0..<1000)
            while a == b { a = r.int(0..<1000); b = r.int(0..<1000) }
            return ("\(words(a)) or \(words(b))?", "\(max(a, b))", "\(max(a, b)) is larger than \(min(a, b)).")
        },
        // Text Categorization
        Spec(name: "topic", category: "Text Categorization", definition: "Classify the topic of the sentence as sports, food or music.",
             options: ["sports", "food", "music"]) { r in
            let (topic, keywords) = r.pick(topics)
            let a = r.pick(keywords), b = r.pick(keywords)
            return ("\(r.pick(names)) talked about the \(a) and the \(b).", topic, "\(a) and \(b) are about \(topic).")
        },
        // Question Answering over a generated paragraph
        Spec(name: "where_lives", category: "Question Answering", definition: "Answer the question using the paragraph.", options: nil) { r in
            let (a, b, _) = r.three(names), i = r.int(0..<cities.count), j = (i + 1 + r.int(0..<(cities.count - 1))) % cities.count
            let askFirst = r.bool()
            return ("Paragraph: \(a) lives in \(cities[i]). \(b) lives in \(cities[j]). Question: Where does \(askFirst ? a : b) live?",
                    askFirst ? cities[i] : cities[j], "The paragraph says so.")
        },
    ]

    /// Plain generated text without instructions (statements of the kinds of facts the tasks use),
    /// for pre-training a model before instruction tuning.
    public static func pretrainingText(seed: UInt64, sentences: Int) -> [String] {
        var r = SynthRandom(seed: StableHash.of(seed, "pretraining"))
        return (0..<sentences).map { _ in
            switch r.int(0..<8) {
            case 0: let a = r.int(0..<100), b = r.int(0..<100); return "\(a) plus \(b) is \(a + b)."
            case 1: let i = r.int(0..<cities.count); return "\(r.pick(names)) lives in \(cities[i]), a city in \(countries[i])."
            case 2: let (x, y) = r.pick(opposites); return "The opposite of \(x) is \(y)."
            case 3: let n = r.int(0..<100); return "The number \(n) is written \(words(n))."
            case 4: let good = r.bool(); return "The \(r.pick(things)) was \(r.pick(good ? positiveWords : negativeWords)), said \(r.pick(names))."
            case 5: let v = r.ints(count: 4, in: 0..<50); return "Sorted, \(list(v)) becomes \(list(v.sorted()))."
            case 6: let (a, b, _) = r.three(names); return "\(a) is taller than \(b), so \(b) is shorter than \(a)."
            default: let (topic, keywords) = r.pick(topics); return "A \(r.pick(keywords)) is something of \(topic)."
            }
        }
    }
}

/// SplitMix64 with the draws the generators need.
struct SynthRandom {
    private var source: SplitMix64
    // One step in from the seed: the draws the shipped suite (and the nano model trained on it) were made with.
    init(seed: UInt64) { source = SplitMix64(state: seed &+ SplitMix64.increment) }
    mutating func next() -> UInt64 { source.next() }
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func bool() -> Bool { next() & 1 == 1 }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }
    mutating func ints(count: Int, in range: Range<Int>) -> [Int] { (0..<count).map { _ in int(range) } }
    /// Three different items.
    mutating func three<T>(_ items: [T]) -> (T, T, T) {
        let i = int(0..<items.count), j = (i + 1 + int(0..<(items.count - 1))) % items.count
        var k = int(0..<items.count)
        while k == i || k == j { k = int(0..<items.count) }
        return (items[i], items[j], items[k])
    }
}
