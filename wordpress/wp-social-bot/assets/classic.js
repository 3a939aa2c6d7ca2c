/**
 * WP Social Bot: the classic editor's "Where it went" list, from the plugin's REST route (wp.apiFetch sends the
 * REST nonce). Built with DOM methods and textContent only: nothing from the bot is read as HTML.
 */
( function ( wp, config ) {
	'use strict';

	if ( ! wp || ! wp.apiFetch || ! config || ! config.published ) {
		return;
	}

	var s = config.strings;
	var POLL_EVERY = 5000;
	var POLL_FOR = 120000;
	var until = 0;
	var timer = null;
	var busy = false;

	function part( tag, className, text ) {
		var node = document.createElement( tag );
		if ( className ) {
			node.className = className;
		}
		if ( text ) {
			node.textContent = text;
		}
		return node;
	}

	function show( box, data ) {
		var list = box.querySelector( '#wp-social-bot-status' );
		var message = box.querySelector( '.wp-social-bot-message' );
		var accounts = data && data.accounts ? data.accounts : [];
		while ( list.firstChild ) {
			list.removeChild( list.firstChild );
		}
		message.textContent = ! data.found ? s.notFound : accounts.length ? '' : s.noAccounts;
		accounts.forEach( function ( a ) {
			var li = part( 'li', 'wp-social-bot-state-' + a.state );
			li.setAttribute( 'data-account', a.account );
			li.setAttribute( 'data-state', a.state );
			li.appendChild( part( 'strong', 'wp-social-bot-account', a.account ) );
			li.appendChild( document.createTextNode( ' (' + ( s.platforms[ a.platform ] || a.platform ) + '): ' ) );
			li.appendChild( part( 'span', 'wp-social-bot-state', s.states[ a.state ] || a.state ) );
			if ( a.reason ) {
				li.appendChild( part( 'span', 'wp-social-bot-reason', ' — ' + a.reason ) );
			}
			if ( a.url && /^https?:\/\//i.test( a.url ) ) {
				var link = part( 'a', '', s.view );
				link.href = a.url;
				link.target = '_blank';
				link.rel = 'noopener noreferrer';
				li.appendChild( document.createTextNode( ' ' ) );
				li.appendChild( link );
			}
			list.appendChild( li );
		} );
	}

	function fail( box, text ) {
		var notice = box.querySelector( '.wp-social-bot-error' );
		notice.querySelector( 'p' ).textContent = text;
		notice.hidden = ! text;
	}

	function load( box ) {
		if ( busy ) {
			return;
		}
		busy = true;
		wp.apiFetch( { path: '/wp-social-bot/v1/status/' + config.postId } ).then(
			function ( data ) {
				busy = false;
				fail( box, '' );
				show( box, data );
			},
			function ( error ) {
				busy = false;
				fail( box, error && error.message ? error.message : s.error );
			}
		);
	}

	function poll( box ) {
		until = Date.now() + POLL_FOR;
		load( box );
		if ( ! timer ) {
			timer = window.setInterval( function () {
				if ( Date.now() > until ) {
					window.clearInterval( timer );
					timer = null;
					return;
				}
				load( box );
			}, POLL_EVERY );
		}
	}

	function start() {
		var box = document.querySelector( '.wp-social-bot-classic' );
		if ( ! box || ! box.querySelector( '#wp-social-bot-status' ) ) {
			return;
		}
		box.querySelector( '.wp-social-bot-refresh' ).addEventListener( 'click', function () {
			poll( box );
		} );
		// The page was just loaded: after a publish or an update the bot is at work, so watch it for a while.
		poll( box );
	}

	if ( document.readyState === 'loading' ) {
		document.addEventListener( 'DOMContentLoaded', start );
	} else {
		start();
	}
} )( window.wp, window.wpSocialBotClassic );
