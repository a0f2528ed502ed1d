/** The bookshelf's database: a handful of public-domain books, kept in memory. */

export interface Book {
  id: string;
  title: string;
  author: string;
  year: number;
  summary: string;
}

/** Where the bookshelf gets its books; the tests hand it a broken one to see the 500 page. */
export interface BookStore {
  all(): Book[];
  find(id: string): Book | undefined;
}

const BOOKS: Book[] = [
  { id: 'frankenstein', title: 'Frankenstein; or, The Modern Prometheus', author: 'Mary Shelley', year: 1818,
    summary: 'A young scientist builds a living being from dead matter and then abandons it, and both spend the rest of the book paying for that.' },
  { id: 'pride-and-prejudice', title: 'Pride and Prejudice', author: 'Jane Austen', year: 1813,
    summary: 'Elizabeth Bennet and Mr Darcy misjudge each other at first sight and take a whole novel to find out how wrong they were.' },
  { id: 'moby-dick', title: 'Moby-Dick; or, The Whale', author: 'Herman Melville', year: 1851,
    summary: 'Ishmael signs on to the Pequod, whose captain cares about nothing but the white whale that took his leg.' },
  { id: 'war-of-the-worlds', title: 'The War of the Worlds', author: 'H. G. Wells', year: 1898,
    summary: 'Martians land in Surrey with heat-rays and tripods; humanity turns out not to be the one that beats them.' },
  { id: 'alice', title: "Alice's Adventures in Wonderland", author: 'Lewis Carroll', year: 1865,
    summary: 'Alice follows a white rabbit down a hole into a country where logic works, but never the way she expects.' },
  { id: 'dracula', title: 'Dracula', author: 'Bram Stoker', year: 1897,
    summary: 'Told in letters and diaries: a Transylvanian count moves to England and a small band of friends sets out to stop him.' },
];

export const embeddedBooks: BookStore = {
  all: () => [...BOOKS].sort((a, b) => a.title.localeCompare(b.title)),
  find: (id) => BOOKS.find((book) => book.id === id),
};
